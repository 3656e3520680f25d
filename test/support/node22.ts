import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ROOT } from './dist.ts';

/**
 * Node 22 and openai 7.x for test/compat/node22.test.ts, installed into test/compat/node22/
 * (its README says why and how) on first use and reused while their lock files are unchanged.
 */

export const NODE22_DIR = join(ROOT, 'test', 'compat', 'node22');
const RUNTIME = join(NODE22_DIR, 'runtime');
const SDK = join(NODE22_DIR, 'sdk');

export type Node22Toolchain =
  | {
      /** The Node 22 binary. */
      node: string;
      /** `npm warn` lines printed by installs made in this run (none when both were reused). */
      warnings: string[];
    }
  | { problem: string };

/** npm's own entry script, to run it with a Node of our choosing. */
function npmCli(): string {
  const fromNpm = process.env.npm_execpath;
  if (fromNpm?.endsWith('.js')) return fromNpm;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'npm');
    if (dir && existsSync(candidate)) {
      const script = realpathSync(candidate);
      if (script.endsWith('.js')) return script;
    }
  }
  throw new Error('npm was not found on PATH');
}

/**
 * The environment for a nested npm. An outer `npm test` exports its own run's settings as npm_*
 * variables; passed on, npm_config_prefix and npm_config_local_prefix would send this install to
 * the repository root or /usr, npm_config_loglevel could hide the warnings checked below, and
 * npm_config_nodedir names the outer Node's headers. Other npm_config_* (a registry, a CA file)
 * are kept.
 */
const OUTER_RUN =
  /^npm_(?!config_)|^npm_config_(prefix|local_prefix|global_prefix|loglevel|nodedir|user_agent|npm_version)$/i;

function nestedNpmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !OUTER_RUN.test(name)));
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: nestedNpmEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', (error) => resolve({ code: null, output: `${output}${error.message}` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** `npm ci` in `dir` with `node`, unless its node_modules was installed from this very lock file. */
async function install(dir: string, node: string, warnings: string[]): Promise<void> {
  const lock = createHash('sha256')
    .update(readFileSync(join(dir, 'package-lock.json')))
    .digest('hex');
  const stamp = join(dir, 'node_modules', '.ftshare-lock-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === lock) return;
  const { code, output } = await run(node, [npmCli(), 'ci', '--no-audit', '--no-fund'], dir);
  if (code !== 0) {
    const errors = output.split('\n').filter((line) => /^npm error/i.test(line));
    throw new Error(`npm ci in ${dir} failed (${code}): ${errors.slice(0, 4).join(' / ') || output.slice(-1000)}`);
  }
  warnings.push(...output.split('\n').filter((line) => /^npm warn/i.test(line)));
  writeFileSync(stamp, lock);
}

/** Installs (or reuses) Node 22, then openai 7.x with that Node 22; or says why it could not. */
export async function node22Toolchain(): Promise<Node22Toolchain> {
  const warnings: string[] = [];
  try {
    await install(RUNTIME, process.execPath, warnings);
    const node = join(RUNTIME, 'node_modules', 'node', 'bin', 'node');
    const { code, output } = await run(node, ['--version'], ROOT);
    if (code !== 0 || !output.startsWith('v22.')) throw new Error(`${node} --version answered ${code}: ${output}`);
    await install(SDK, node, warnings);
    return { node, warnings };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}
