import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

/** One kind of request to load a server with. */
export type LoadSpec = {
  method: 'GET' | 'POST' | 'DELETE';
  headers: Record<string, string>;
  /** The same request every time ... */
  path?: string;
  body?: string;
  /** ... or a fresh one each time (shared across connections); undefined when the supply is spent. */
  next?: () => { path: string; body?: string; headers?: Record<string, string> } | undefined;
};

export type LoadSettings = { connections: number; warmupSeconds: number; durationSeconds: number };

export type LoadResult = {
  seconds: number;
  /** Responses with a 2xx status. */
  ok: number;
  /** 2xx responses per second. */
  rps: number;
  /** Latency of the 2xx responses, ms, exact percentiles of every response (not autocannon's 1 ms buckets). */
  p50: number;
  p99: number;
  mean: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** CPU time (user + system) the server process spent per 2xx response, µs; NaN without a pid. */
  serverCpuUsPerRequest: number;
  /** Server CPU time / wall time: near 1 means the server was the bottleneck. */
  serverCpuShare: number;
  /** This process's (the load generator's) CPU time / wall time. */
  generatorCpuShare: number;
};

/** utime + stime of `pid` in seconds, from /proc (Linux); NaN elsewhere. */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: 100 on every Linux this runs on (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;

/**
 * Drives `spec` against `origin` with autocannon (fixed connections, fixed duration, no
 * pipelining): first a warm-up run whose figures are returned apart and kept out of the result,
 * then the measured run. Latencies are taken from autocannon's per-response event, which reports
 * hrtime-precise milliseconds; its own histogram rounds to whole milliseconds, too coarse for
 * sub-millisecond medians and for the scale ratio.
 */
export async function measure(
  origin: string,
  spec: LoadSpec,
  settings: LoadSettings,
  serverPid?: number,
): Promise<{ warmup: LoadResult; result: LoadResult }> {
  const warmup = await run(origin, spec, settings.connections, settings.warmupSeconds, serverPid);
  const result = await run(origin, spec, settings.connections, settings.durationSeconds, serverPid);
  return { warmup, result };
}

async function run(
  origin: string,
  spec: LoadSpec,
  connections: number,
  seconds: number,
  serverPid: number | undefined,
): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const statusCodes: Record<string, number> = {};
  const { next } = spec;
  const request: autocannon.Request = {
    method: spec.method,
    headers: spec.headers,
    path: spec.path ?? '/',
    ...(spec.body === undefined ? {} : { body: spec.body }),
    ...(next
      ? {
          setupRequest: (req: autocannon.Request) => {
            const item = next();
            // Spent supply: the same request again, which the caller sees as non-2xx answers.
            if (!item) return req;
            return {
              ...req,
              path: item.path,
              ...(item.body === undefined ? {} : { body: item.body }),
              ...(item.headers === undefined ? {} : { headers: item.headers }),
            };
          },
        }
      : {}),
  };

  const started = performance.now();
  const serverCpuBefore = processCpuSeconds(serverPid);
  const generatorCpuBefore = process.cpuUsage();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: origin, connections, pipelining: 1, duration: seconds, timeout: 10, requests: [request] },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      const key = String(statusCode);
      statusCodes[key] = (statusCodes[key] ?? 0) + 1;
      if (statusCode < 200 || statusCode >= 300) return;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = responseTime;
    });
  });
  const wall = (performance.now() - started) / 1000;
  const serverCpu = processCpuSeconds(serverPid) - serverCpuBefore;
  const generatorCpu = process.cpuUsage(generatorCpuBefore);
  const elapsed = result.duration > 0 ? result.duration : wall;

  const sorted = latencies.subarray(0, count).sort();
  const pick = (q: number) => (count === 0 ? Number.NaN : (sorted[Math.min(count - 1, Math.floor(q * count))] ?? 0));
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    seconds: elapsed,
    ok: count,
    rps: count / elapsed,
    p50: pick(0.5),
    p99: pick(0.99),
    mean: count === 0 ? Number.NaN : sum / count,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    serverCpuUsPerRequest: count === 0 ? Number.NaN : (serverCpu * 1e6) / count,
    serverCpuShare: serverCpu / wall,
    generatorCpuShare: (generatorCpu.user + generatorCpu.system) / 1e6 / wall,
  };
}
