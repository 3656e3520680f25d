import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { TIMEOUT_MS } from '../client.ts';
import { type Context, clientCommand, run } from '../context.ts';
import { CliError, EXIT, usageError } from '../exit.ts';
import { printJson, printTable } from '../output.ts';
import { positiveInt } from '../parse.ts';
import { formatBytes, formatCount, Progress } from '../progress.ts';
import { batches, type Counts, SECTIONS, type Section, type StateDocument } from '../state-batches.ts';
import { StateScanner } from '../state-scan.ts';

/** The server's bound on a request body; the CLI stays a little under it by default. */
const MAX_BODY = 1024 * 1024;
const DEFAULT_BATCH = MAX_BODY - 1024;

type ImportResult = { object: 'organization.import'; inserted: Counts; skipped: Counts };

const zero = (): Counts => Object.fromEntries(SECTIONS.map((s) => [s, 0])) as Counts;

/** Streams `GET /v1/organization/export` to a file (written whole, then renamed into place) or stdout. */
async function exportState(ctx: Context, output: string | undefined): Promise<void> {
  const controller = new AbortController();
  let idle: NodeJS.Timeout | undefined;
  // No deadline for the whole document (millions of records take a while); silence is the failure.
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(
      () => controller.abort(new Error(`the server sent nothing for ${TIMEOUT_MS / 1000} s`)),
      TIMEOUT_MS,
    );
  };
  const target = output === undefined || output === '-' ? null : output;
  const partial = target === null ? null : `${target}.partial`;
  const scanner = new StateScanner();
  const progress = new Progress(ctx.err, 'exporting');
  touch();
  try {
    const response = await ctx.client.send('GET', '/organization/export', { signal: controller.signal });
    if (response.body === null) throw new CliError('the server answered the export with no body', EXIT.server);
    const follow = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        touch();
        scanner.feed(chunk);
        progress.update(scanner.total, null, formatBytes(scanner.bytes));
        done(null, chunk);
      },
    });
    // The backup holds key hashes: readable by its owner only.
    const sink = partial === null ? process.stdout : createWriteStream(partial, { mode: 0o600 });
    try {
      await pipeline(Readable.fromWeb(response.body as unknown as ReadableStream), follow, sink);
    } catch (error) {
      throw controller.signal.aborted ? new CliError(String(controller.signal.reason), EXIT.unreachable) : error;
    }
    if (!scanner.complete) {
      throw new CliError(
        `the export ended after ${formatBytes(scanner.bytes)} without a complete state document`,
        EXIT.server,
      );
    }
    if (partial !== null && target !== null) await rename(partial, target);
  } catch (error) {
    if (partial !== null) await rm(partial, { force: true });
    throw error;
  } finally {
    clearTimeout(idle);
  }
  progress.finish(scanner.total, null, formatBytes(scanner.bytes));
  const counts = SECTIONS.map((s) => `${formatCount(scanner.counts.get(s) ?? 0)} ${s.replaceAll('_', ' ')}`);
  ctx.err.line(
    `exported ${formatCount(scanner.total)} records (${counts.join(', ')}), ${formatBytes(scanner.bytes)}${target === null ? '' : ` to ${target}`}`,
  );
}

async function readDocument(file: string): Promise<StateDocument> {
  let text: string;
  try {
    text =
      file === '-'
        ? await Readable.from(process.stdin)
            .toArray()
            .then((c) => Buffer.concat(c).toString('utf8'))
        : await readFile(file, 'utf8');
  } catch (error) {
    throw usageError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw usageError(`${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw usageError(`${file} is not a state document (a JSON object, as \`ftshare export\` writes)`);
  }
  const record = doc as Record<string, unknown>;
  if (record.ftshare_state !== undefined && record.ftshare_state !== 1) {
    throw usageError(
      `${file} is a state document of version ${JSON.stringify(record.ftshare_state)}; this ftshare reads version 1`,
    );
  }
  for (const [key, value] of Object.entries(record)) {
    if (key === 'ftshare_state' || key === 'organization') continue;
    if (!(SECTIONS as readonly string[]).includes(key)) {
      throw usageError(`${file}: unknown section \`${key}\` (a state document has ${SECTIONS.join(', ')})`);
    }
    if (!Array.isArray(value)) throw usageError(`${file}: \`${key}\` must be an array`);
  }
  return record as StateDocument;
}

/** Sends the document in requests under the body limit, in dependency order, one after another. */
async function importState(ctx: Context, file: string, batchBytes: number): Promise<void> {
  const doc = await readDocument(file);
  const total = SECTIONS.reduce((sum, s) => sum + (doc[s]?.length ?? 0), 0);
  const result: ImportResult = { object: 'organization.import', inserted: zero(), skipped: zero() };
  const progress = new Progress(ctx.err, 'importing');
  let sent = 0;
  try {
    for (const batch of batches(doc, batchBytes)) {
      const answer = await ctx.client.request<ImportResult>('POST', '/organization/import', { json: batch.json });
      for (const s of SECTIONS) {
        result.inserted[s] += answer.inserted[s] ?? 0;
        result.skipped[s] += answer.skipped[s] ?? 0;
      }
      sent += batch.records;
      progress.update(sent, total);
    }
  } catch (error) {
    progress.finish(sent, total);
    if (error instanceof CliError && sent > 0) {
      throw new CliError(
        `${error.message}\nthe import stopped after ${formatCount(sent)} of ${formatCount(total)} records; run it again to finish (records already there are skipped)`,
        error.exitCode,
      );
    }
    throw error;
  }
  progress.finish(sent, total);
  if (ctx.json) return printJson(ctx.out, result);
  printTable(
    ctx.out,
    SECTIONS.map((s: Section) => ({ section: s, inserted: result.inserted[s], skipped: result.skipped[s] })),
    [
      { header: 'section', value: (r) => r.section },
      { header: 'inserted', value: (r) => r.inserted },
      { header: 'skipped', value: (r) => r.skipped },
    ],
  );
}

/** `ftshare export` and `ftshare import`: backups, and moving an organization between stores. */
export function stateCommands(program: Command): void {
  clientCommand(program, 'export', 'write the organization’s whole state, as one JSON state document')
    .helpGroup('Audit and state:')
    .option('-o, --output <file>', 'write it to this file, only once complete (default: stdout)')
    .action(run<[], { output?: string }>(async (ctx, _args, options) => exportState(ctx, options.output)));

  clientCommand(
    program,
    'import',
    'insert the records of a state document that are not there yet (ids, timestamps kept); again: nothing',
  )
    .helpGroup('Audit and state:')
    .argument('<file>', 'a state document, as `ftshare export` writes it (`-` reads stdin)')
    .option(
      '--batch-bytes <n>',
      `the largest request body, in bytes (default ${DEFAULT_BATCH}; the server takes at most ${MAX_BODY})`,
      positiveInt(MAX_BODY),
      DEFAULT_BATCH,
    )
    .action(
      run<[string], { batchBytes: number }>(async (ctx, [file], options) => importState(ctx, file, options.batchBytes)),
    );
}
