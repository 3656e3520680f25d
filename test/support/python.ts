import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The official Python SDK (`openai` 3.x from PyPI) in a virtual environment of its own, made once
 * and kept under node_modules/.cache/ftshare-python (a fresh `npm install` keeps it; deleting
 * node_modules starts it over). Like PostgreSQL (backends.ts): when Python or pip cannot provide
 * it, the suite is skipped with the reason outside CI and fails with CI=true.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PYTHON_ENV = join(ROOT, 'node_modules', '.cache', 'ftshare-python');
const REQUIREMENT = 'openai>=3,<4';
const python = join(PYTHON_ENV, 'bin', 'python');

async function sdkVersion(): Promise<string | null> {
  if (!existsSync(python)) return null;
  try {
    const { stdout } = await run(python, ['-c', 'import openai; print(openai.__version__)'], { timeout: 60_000 });
    const version = stdout.trim();
    return version.startsWith('3.') ? version : null;
  } catch {
    return null;
  }
}

let ready: Promise<{ python: string; version: string } | { problem: string }> | undefined;

/** The environment's python and the SDK's version, making the environment first if need be; or why not. */
export function pythonSdk(): Promise<{ python: string; version: string } | { problem: string }> {
  ready ??= (async () => {
    const cached = await sdkVersion();
    if (cached) return { python, version: cached };
    try {
      await rm(PYTHON_ENV, { recursive: true, force: true });
      await mkdir(join(ROOT, 'node_modules', '.cache'), { recursive: true });
      await run('python3', ['-m', 'venv', PYTHON_ENV], { timeout: 120_000 });
      // No retries: an index that cannot be reached should fail fast, not after minutes of backoff.
      await run(python, ['-m', 'pip', 'install', '--quiet', '--retries', '0', '--timeout', '30', REQUIREMENT], {
        timeout: 600_000,
      });
    } catch (error) {
      const detail = (error as { stderr?: string }).stderr?.trim().split('\n').slice(-3).join(' ') ?? String(error);
      return { problem: `could not make a virtual environment with ${REQUIREMENT}: ${detail}` };
    }
    const version = await sdkVersion();
    return version ? { python, version } : { problem: `${REQUIREMENT} installed, but does not import` };
  })();
  return ready;
}

/** Registers the test that says the Python suite did not run: skipped outside CI, failing with CI=true. */
export function reportPythonNotRun(problem: string): void {
  const why = `the official Python SDK is not available (${problem}): the Python compatibility suite was NOT run`;
  if (process.env.CI === 'true') {
    test('the Python SDK is available (required in CI)', () => {
      throw new Error(why);
    });
  } else {
    test('the Python SDK', { skip: why }, () => {});
  }
}
