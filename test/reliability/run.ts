import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Figure } from './figures.ts';

/**
 * `npm run test:reliability`: issue 10's items 6–8 in one run, then their figures.
 *
 * - faults (here only: minutes of work): SIGKILL during mixed writes (50 kills per store), SIGTERM
 *   under load, PostgreSQL going away under load (through a proxy, and a private cluster really
 *   stopped and started), a full disk under the SQLite store;
 * - the fuzz and the isolation matrix (also in `npm test`).
 *
 * Everything `node --test` prints is passed through; the figures the suites recorded come last,
 * and the exit code is the test runner's. Settings: FTSHARE_KILL_ITERATIONS (50),
 * FTSHARE_FAULT_SEED, FTSHARE_SIGTERM_ROUNDS (5), FTSHARE_OUTAGE_CYCLES (down,stall,down,down,stall),
 * FTSHARE_FUZZ_REQUESTS (10000, split between the stores), FTSHARE_FUZZ_SEED.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SUITES = [
  'test/reliability/sigkill.reliability.ts',
  'test/reliability/sigterm.reliability.ts',
  'test/reliability/outage.reliability.ts',
  'test/reliability/pg-restart.reliability.ts',
  'test/reliability/disk-full.reliability.ts',
  'test/http/fuzz.test.ts',
  'test/http/auth.test.ts',
  'test/http/isolation.test.ts',
];

const dir = mkdtempSync(join(tmpdir(), 'ftshare-figures-'));
const figuresFile = join(dir, 'figures.jsonl');
const started = Date.now();
// One seed for every fault suite (each runs in a process of its own), shown so a run replays.
const faultSeed = process.env.FTSHARE_FAULT_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
process.stdout.write(`fault seed ${faultSeed} (FTSHARE_FAULT_SEED=${faultSeed} replays this run's choices)\n`);
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...SUITES], {
  cwd: ROOT,
  env: { ...process.env, FTSHARE_FIGURES_FILE: figuresFile, FTSHARE_FAULT_SEED: faultSeed },
  stdio: 'inherit',
});
const code: number = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));

const figures: Figure[] = existsSync(figuresFile)
  ? readFileSync(figuresFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
  : [];
rmSync(dir, { recursive: true, force: true });

const lines = ['', '== reliability figures (npm run test:reliability)', ''];
let suite = '';
for (const figure of figures) {
  const heading = `${figure.suite}${figure.store ? ` (${figure.store})` : ''}`;
  if (heading !== suite) {
    lines.push(`${heading}:`);
    suite = heading;
  }
  lines.push(`  ${figure.name}: ${figure.value}${figure.unit ? ` ${figure.unit}` : ''}`);
}
lines.push('', `runtime: ${Math.round((Date.now() - started) / 1000)} s; node --test exit code ${code}`, '');
process.stdout.write(lines.join('\n'));
process.exit(code);
