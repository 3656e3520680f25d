// `npm run build` (also run by `prepare`, so `npm install` and `npm ci` build, and by `pretest`):
// bundles the server into dist/, which `npm start`, `npm run ftshare` and bin/ftshare.js run with
// plain `node`, no TypeScript loader. Type checking is `npm run typecheck` (tsc), as before.
//
// Why a bundle rather than tsc's file-per-module output: Node 20 loads ES modules one file at a
// time, and the dependencies alone are ~700 files (kysely and TypeBox ~270 each). Run from tsc's
// output the server reached a healthy /readyz in ~0.41 s, from this bundle in ~0.21 s (bench/RESULTS.md,
// "Start-up"). esbuild is the transpiler tsx already uses to run the tests, so the tests and the
// server see the same JavaScript.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
// Chunk names carry content hashes: without this, old chunks would pile up beside the new ones.
rmSync(join(root, 'dist'), { recursive: true, force: true });

await build({
  absWorkingDir: root,
  // The checkpoint worker is an entry of its own: sqlite-checkpoints.ts starts it by URL, relative
  // to the module that holds that code, and every file of the bundle lands in dist/ itself.
  entryPoints: ['src/main.ts', 'src/storage/sqlite-checkpoint-worker.js'],
  outdir: 'dist',
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  bundle: true,
  // Split at dynamic imports, so each store's code (and the pg driver) loads only for that store.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Not bundled: a native addon (better-sqlite3), a driver with an optional native part (pg), and
  // the pretty printer, loaded only when stdout is a terminal. Each is resolved from node_modules.
  external: ['better-sqlite3', 'pg', 'pino-pretty'],
  // CommonJS dependencies bundled into ES modules still call `require` for Node's own modules.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: 'warning',
});
