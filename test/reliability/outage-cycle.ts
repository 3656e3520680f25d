import type { Ledger } from './ledger.ts';
import { type Answer, runWrites } from './workload.ts';

/**
 * One database outage under mixed writes, measured: the writes start, the database is taken
 * away for `outageMs`, brought back, and the writes go on for `afterMs`. While it is away every
 * answer must be 503 with `retry-after`, `x-should-retry: true` and the envelope; once it is back,
 * full service within `fullServiceWithinMs`, measured as the time after which every request sent
 * was served (and at least 20 were).
 */

/**
 * Measured from the moment the database was back (`bringBack` done: for a real restart, once it
 * accepts connections again), and `sinceBringBackMs` from the moment it was asked back.
 */
export type Recovery = { kind: string; firstOkMs: number; fullServiceMs: number; sinceBringBackMs: number };

export type CycleOptions = {
  kind: string;
  origin: string;
  adminKey: string;
  ledger: Ledger;
  random: () => number;
  takeDown(): Promise<void>;
  bringBack(): Promise<void>;
  outageMs: number;
  afterMs: number;
  fullServiceWithinMs: number;
};

function unavailableProblems(answer: Answer): string[] {
  const problems: string[] = [];
  if (answer.headers.get('retry-after') === null) problems.push('503 without retry-after');
  if (answer.headers.get('x-should-retry') !== 'true') problems.push('503 without x-should-retry: true');
  if (!answer.headers.get('x-request-id')) problems.push('503 without x-request-id');
  if (answer.body?.error?.code !== 'store_unavailable') problems.push(`503 body ${JSON.stringify(answer.body)}`);
  return problems;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function outageCycle(
  options: CycleOptions,
): Promise<{ recovery: Recovery; unavailable: number; problems: string[] }> {
  const { kind } = options;
  let stopped = false;
  const writes = runWrites({
    origin: options.origin,
    adminKey: options.adminKey,
    ledger: options.ledger,
    random: options.random,
    concurrency: 6,
    stopped: () => stopped,
    pauseAfterFailureMs: 50,
    keepAnswers: true,
  });
  await sleep(500);
  await options.takeDown();
  const downAt = performance.now();
  await sleep(options.outageMs);
  const backAt = performance.now();
  await options.bringBack();
  // Back: the database accepts connections again (after its own recovery, for a real restart).
  const upAt = performance.now();
  await sleep(options.afterMs);
  stopped = true;
  const tally = await writes;

  const problems: string[] = [];
  let unavailable = 0;
  for (const answer of tally.answers) {
    if (answer.status === 503) {
      unavailable++;
      problems.push(...unavailableProblems(answer).map((p) => `${kind}: ${p}`));
    } else if (answer.status !== 200) {
      problems.push(`${kind}: answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    } else if (answer.sentAt > downAt && answer.answeredAt < backAt) {
      problems.push(`${kind}: a 200 while the database was away`);
    }
  }
  if (tally.noAnswer > 0) problems.push(`${kind}: ${tally.noAnswer} requests got no answer`);
  const afterUp = tally.answers.filter((a) => a.sentAt >= upAt);
  const firstOk = Math.min(...afterUp.filter((a) => a.status === 200).map((a) => a.answeredAt));
  const lastFailureSent = Math.max(upAt, ...afterUp.filter((a) => a.status !== 200).map((a) => a.sentAt));
  const recovery = {
    kind,
    firstOkMs: Math.round(firstOk - upAt),
    // From then on every request sent was served: the moment after the last one that was not.
    fullServiceMs: Math.round(Math.max(firstOk, lastFailureSent) - upAt),
    sinceBringBackMs: Math.round(Math.max(firstOk, lastFailureSent) - backAt),
  };
  if (!(recovery.fullServiceMs <= options.fullServiceWithinMs)) {
    problems.push(`${kind}: full service only ${recovery.fullServiceMs} ms after the database came back`);
  }
  const servedLate = afterUp.filter((a) => a.sentAt > lastFailureSent).length;
  if (servedLate < 20) problems.push(`${kind}: only ${servedLate} requests after recovery: not shown whole`);
  return { recovery, unavailable, problems };
}
