import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compiledServer, ROOT } from '../support/dist.ts';
import { NODE22_DIR, node22Toolchain } from '../support/node22.ts';

/**
 * The official SDK as most of its users now have it: openai 7.x, which requires Node 22. This
 * file runs every other suite of test/compat/ again, unmodified, on Node 22 with `openai`
 * resolving to 7.x (test/compat/node22/README.md), against the real server — the compiled
 * server, on the Node running this file, whose native SQLite build is for this Node. Each test of
 * that run is reported here as a test of this run.
 */

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SUITES = readdirSync(HERE)
  .filter((name) => name.endsWith('.test.ts') && name !== 'node22.test.ts')
  .map((name) => join('test', 'compat', name));

type Result = {
  passed: boolean;
  name: string;
  nesting: number;
  file: string | null;
  skip: boolean | string;
  todo: boolean | string;
  suite: boolean;
  error: string | null;
};
type Leaf = Result & { path: string[] };

function run(node: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Without NODE_TEST_CONTEXT, which this file's own runner sets: with it, the Node 22 runner
    // would take itself for a child of this one and answer in its internal format.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const child = spawn(node, args, {
      cwd: ROOT,
      env: { ...env, FTSHARE_TEST_SERVER_NODE: process.execPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    // A hung run fails this file (no results) instead of hanging npm test.
    const deadline = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The finished tests, leaves only, each with the names of the suites around it. A suite's own
 * result arrives after its children's, at a lower nesting level: it adopts the results waiting
 * one level deeper.
 */
function leaves(results: Result[]): Leaf[] {
  const waiting: Leaf[][] = [];
  for (const result of results) {
    const children = waiting[result.nesting + 1] ?? [];
    waiting.length = result.nesting + 1;
    const level = waiting[result.nesting] ?? [];
    waiting[result.nesting] = level;
    if (result.suite || children.length > 0) {
      for (const child of children) level.push({ ...child, path: [result.name, ...child.path] });
      // A suite that failed by itself (a hook threw) has no child to carry the failure.
      if (!result.passed && children.every((child) => child.passed)) level.push({ ...result, path: [result.name] });
    } else {
      level.push({ ...result, path: [result.name] });
    }
  }
  return waiting[0] ?? [];
}

const toolchain = await node22Toolchain();

if ('problem' in toolchain) {
  const why = `Node 22 and openai 7.x could not be installed (${toolchain.problem}): the openai 7 suites were NOT run`;
  if (process.env.CI === 'true') {
    test('Node 22 and openai 7.x are installed (required in CI)', () => {
      throw new Error(why);
    });
  } else {
    test('openai 7.x on Node 22', { skip: why }, () => {});
  }
} else {
  const hooks = join(NODE22_DIR, 'openai-7.js');
  const reporter = join(NODE22_DIR, 'reporter.js');
  compiledServer(); // here, so a stale dist/ fails this file once rather than every suite of the run
  const probe = await run(toolchain.node, [
    '--import',
    hooks,
    '--input-type=module',
    '--eval',
    "const { VERSION } = await import('openai/version'); console.log(JSON.stringify({ node: process.version, openai: VERSION }));",
  ]);
  const suiteRun = await run(toolchain.node, [
    '--import',
    'tsx',
    '--import',
    hooks,
    '--test',
    `--test-reporter=${reporter}`,
    '--test-reporter-destination=stdout',
    ...SUITES,
  ]);
  const results = suiteRun.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Result);

  describe('openai 7.x on Node 22 (test/compat/ again)', () => {
    test('installing Node 22 and openai 7.x printed no warning', () => {
      assert.deepEqual(toolchain.warnings, []);
    });

    test('the run is Node 22 with openai 7.x', () => {
      assert.equal(probe.code, 0, probe.stderr);
      const { node, openai } = JSON.parse(probe.stdout) as { node: string; openai: string };
      assert.match(node, /^v22\./);
      assert.match(openai, /^7\./);
    });

    test('the Node 22 run completed and reported its tests', () => {
      assert.ok(results.length > 0, `no results:\n${suiteRun.stdout}\n${suiteRun.stderr}`);
      const failed = results.filter((result) => !result.passed).length;
      assert.ok(suiteRun.code === 0 || failed > 0, `exited ${suiteRun.code} with no failure:\n${suiteRun.stderr}`);
    });

    for (const leaf of leaves(results)) {
      const name = leaf.path.join(' › ');
      const skip = leaf.skip === false ? undefined : leaf.skip;
      test(name, skip === undefined ? {} : { skip }, () => {
        if (!leaf.passed) throw new Error(leaf.error ?? 'failed on Node 22');
      });
    }
  });
}
