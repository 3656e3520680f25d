import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../src/storage/sqlite.ts';
import { sqliteDatabase } from './databases.ts';
import { seedWorld } from './in-process.ts';
import { ROOT, startFtshare } from './processes.ts';
import { benchAdminKey } from './seed.ts';

/**
 * Export and import through the CLI, as an operator moves a store: `ftshare export` from a server
 * holding `permissions` permissions to a file, then `ftshare import` of that file into a fresh
 * server. Both are the compiled CLI (`dist/main.js`) against real server processes on loopback.
 */
export type TransferResult = {
  permissions: number;
  exportSeconds: number;
  importSeconds: number;
  exportPerSecond: number;
  importPerSecond: number;
  fileBytes: number;
};

/** `ftshare <args>` against `baseURL` with `adminKey`; resolves once it exits 0, with its wall time. */
async function cli(args: string[], baseURL: string, adminKey: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, FTSHARE_BASE_URL: baseURL, FTSHARE_ADMIN_KEY: adminKey },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`ftshare ${args.join(' ')} exited ${code}:\n${stderr}`);
  return (performance.now() - started) / 1000;
}

export async function measureTransfer(
  permissions: number,
  scratch: string,
  log: (line: string) => void,
): Promise<TransferResult> {
  const source = sqliteDatabase('transfer-source');
  const target = sqliteDatabase('transfer-target');
  const file = join(scratch, 'transfer-export.json');
  const sourceKey = benchAdminKey();
  const targetKey = benchAdminKey();
  const store = SqliteStore.open(source.url);
  try {
    await store.migrate();
    await seedWorld(store, 2_000, permissions, sourceKey);
  } finally {
    await store.close();
  }
  const from = await startFtshare({
    db: source.url,
    adminKey: sourceKey,
    logLevel: 'warn',
    logFile: join(scratch, 'transfer-source.log'),
  });
  const to = await startFtshare({
    db: target.url,
    adminKey: targetKey,
    logLevel: 'warn',
    logFile: join(scratch, 'transfer-target.log'),
  });
  try {
    log(`transfer: exporting ${permissions.toLocaleString('en-US')} permissions`);
    const exportSeconds = await cli(['export', '-o', file], `${from.origin}/v1`, sourceKey);
    const document = JSON.parse(readFileSync(file, 'utf8')) as { permissions: unknown[] };
    if (document.permissions.length !== permissions) {
      throw new Error(`the export holds ${document.permissions.length} permissions, not ${permissions}`);
    }
    const fileBytes = readFileSync(file).length;
    log(`transfer: importing ${(fileBytes / 1e6).toFixed(0)} MB`);
    const importSeconds = await cli(['import', file], `${to.origin}/v1`, targetKey);
    return {
      permissions,
      exportSeconds,
      importSeconds,
      exportPerSecond: permissions / exportSeconds,
      importPerSecond: permissions / importSeconds,
      fileBytes,
    };
  } finally {
    await from.stop();
    await to.stop();
    rmSync(file, { force: true });
    await source.drop();
    await target.drop();
  }
}
