// Passed to Node 22 with --import by test/compat/node22.test.ts: from then on every import of
// `openai` (or `openai/...`) in that process resolves to the openai 7.x installed in ./sdk,
// not to the repository's own devDependency, so the unmodified test files run against 7.x.
import { register } from 'node:module';

register('./openai-7-hooks.js', import.meta.url);
