#!/usr/bin/env node
// The `ftshare` command: the bundled server that `npm run build` writes to dist/ (`prepare` runs
// it on `npm install`), run by plain Node with no TypeScript loader.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'ftshare: dist/main.js is missing; run `npm install` (or `npm run build`) in the ftshare directory.\n',
  );
  process.exit(1);
}
await import(main.href);
