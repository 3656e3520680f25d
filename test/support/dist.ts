import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The newest modification time of any file under `dir`. */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

let checked: string | undefined;

/**
 * The compiled server (`npm run build` → dist/main.js), which the suites that start real
 * processes run, as operators do. `npm test` builds first (`pretest`); run alone, a suite must
 * not quietly test an older build than the sources it sits beside, so a dist/ older than any
 * file in src/ (or than the build script) fails the suite with what to do.
 */
export function compiledServer(): string {
  if (checked) return checked;
  const main = join(ROOT, 'dist', 'main.js');
  let built: number;
  try {
    built = statSync(main).mtimeMs;
  } catch {
    throw new Error('dist/main.js does not exist: run `npm run build` (`npm test` builds first).');
  }
  const sources = Math.max(newestUnder(join(ROOT, 'src')), statSync(join(ROOT, 'scripts', 'build.js')).mtimeMs);
  if (sources > built) {
    throw new Error('dist/ is older than src/: run `npm run build` (`npm test` builds first).');
  }
  checked = main;
  return main;
}
