import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { recordFigures } from '../reliability/figures.ts';
import { backends } from '../support/backends.ts';
import { build, encodeLoose, type Fixtures, type GeneratedRequest, generatedRequest } from '../support/fuzz.ts';
import { type Shared, sharedCheckpoint, useWorld } from '../support/http.ts';
import { type RouteCase, type RouteIds, V1_ROUTES } from '../support/routes.ts';
import { bearer, call, projectKey } from '../support/world.ts';

/**
 * Issue 10, item 7: generated requests over every route and method of `V1_ROUTES`, and unknown
 * ones — ids valid, foreign, absent and malformed; query values in every spelling; JSON bodies
 * with wrong types, missing and extra fields, deep nesting, duplicate keys, `__proto__`, huge
 * arrays; bad content types; keys in odd places. For every response:
 *
 * - never a 5xx, always an `x-request-id`, and every non-2xx is the OpenAI envelope;
 * - a refused write changes nothing (the organization's whole export, hashed before and after);
 * - nothing of the other organization shows: its ids appear in no answer unless the request named
 *   them, and then the answer is exactly the one for ids that exist nowhere; its organization id
 *   and the secrets of either never appear; and its state never changes.
 *
 * FTSHARE_FUZZ_REQUESTS (10,000) requests per run, split between the stores; a fixed seed with
 * CI=true, else FTSHARE_FUZZ_SEED or a random one (printed, and in fast-check's failure report).
 */

const TOTAL = Number(process.env.FTSHARE_FUZZ_REQUESTS ?? 10_000);
const SEED =
  process.env.CI === 'true' ? 10_007 : Number(process.env.FTSHARE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Requests per property run (on average), each run over fresh fixtures. */
const PER_RUN = 50;

type Tally = {
  requests: number;
  twins: number;
  fiveXx: number;
  nonEnvelope: number;
  leaks: number;
  changed: number;
  /** Answers by status class, and the V1_ROUTES entries (method and path) that answered 2xx. */
  classes: Map<string, number>;
  served: Set<string>;
};

const routeKey = (route: RouteCase) => `${route.method} ${route.path}`;

const ENVELOPE_KEYS = ['code', 'message', 'param', 'type'];

function isEnvelope(body: unknown): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  if (Object.keys(body).join() !== 'error') return false;
  const error = (body as { error: Record<string, unknown> }).error;
  if (!error || typeof error !== 'object') return false;
  return (
    Object.keys(error).sort().join() === ENVELOPE_KEYS.join() &&
    typeof error.message === 'string' &&
    typeof error.type === 'string' &&
    (error.param === null || typeof error.param === 'string') &&
    (error.code === null || typeof error.code === 'string')
  );
}

/** Same shape, other characters: an id of the same kind and length that exists nowhere. */
function ghostOf(id: string): string {
  const runs = [...id.matchAll(/[0-9A-Za-z]{6,}/g)];
  const last = runs.at(-1);
  if (!last || last.index === undefined) return `${id}x`;
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let replaced = '';
  for (let i = 0; i < last[0].length; i++) replaced += alphabet[Math.floor(Math.random() * alphabet.length)];
  return `${id.slice(0, last.index)}${replaced}${id.slice(last.index + last[0].length)}`;
}

const idsOf = (shared: Shared): RouteIds => ({
  owner: shared.owner,
  grantee: shared.grantee,
  checkpoint: shared.checkpoint,
  permission: shared.permission,
  serviceAccount: shared.serviceAccount,
  projectKey: shared.projectKey,
  adminKey: shared.adminKey,
});

async function stateHash(app: FastifyInstance, adminKey: string): Promise<string> {
  const response = await call(app, { method: 'GET', url: '/v1/organization/export', headers: bearer(adminKey) });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  // A key's last use is not state a request could have changed by being refused.
  for (const key of response.body.api_keys) key.last_used_at = null;
  return createHash('sha256').update(JSON.stringify(response.body)).digest('hex');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const READ_ONLY = (options: InjectOptions) =>
  options.method === 'GET' ||
  options.method === 'HEAD' ||
  String(options.url).startsWith('/v1/organization/model_access');

const backendList = await backends();
const perStore = Math.ceil(TOTAL / backendList.length);

for (const backend of backendList) {
  describe(`fuzz: generated requests over every route (${backend.name})`, () => {
    const world = useWorld(backend);
    const tally: Tally = {
      requests: 0,
      twins: 0,
      fiveXx: 0,
      nonEnvelope: 0,
      leaks: 0,
      changed: 0,
      classes: new Map(),
      served: new Set(),
    };
    after(() => {
      recordFigures('fuzz', backend.name, {
        'requests fuzzed': tally.requests,
        'answers by status': [...tally.classes].map(([status, n]) => `${status}: ${n}`).join(', '),
        'routes of V1_ROUTES answered 2xx at least once': `${tally.served.size} of ${new Set(V1_ROUTES.map(routeKey)).size}`,
        'twin requests (foreign ids swapped for absent ones)': tally.twins,
        '5xx answers': tally.fiveXx,
        'non-envelope errors': tally.nonEnvelope,
        'leaks of the other organization': tally.leaks,
        'refused writes that changed state': tally.changed,
        seed: SEED,
      });
    });

    test(`${perStore} requests: no 5xx, the envelope, refused writes change nothing, no leak (seed ${SEED})`, {
      timeout: 20 * 60_000,
    }, async () => {
      const property = fc.asyncProperty(
        fc.array(generatedRequest, { minLength: 1, maxLength: 2 * PER_RUN, size: 'max' }),
        async (requests: GeneratedRequest[]) => {
          const { app, store } = world;
          const a = await sharedCheckpoint(app, store);
          const b = await sharedCheckpoint(app, store);
          const fixtures: Fixtures = {
            ids: {
              A: idsOf(a),
              B: idsOf(b),
              ghost: Object.fromEntries(Object.entries(idsOf(b)).map(([k, v]) => [k, ghostOf(v)])) as RouteIds,
            },
            secrets: {
              adminA: a.org.adminKey,
              projectA: await projectKey(app, a.org.adminKey, a.grantee),
              adminB: b.org.adminKey,
              projectB: await projectKey(app, b.org.adminKey, b.grantee),
            },
          };
          // The twin of a request: B's ids swapped for ids of the same shape that exist nowhere (and
          // are not the generator's own absent ids, which a request may name beside B's).
          const swapped = Object.fromEntries(Object.entries(idsOf(b)).map(([k, v]) => [k, ghostOf(v)])) as RouteIds;
          const twinFixtures: Fixtures = { ...fixtures, ids: { ...fixtures.ids, B: swapped } };
          const foreign = Object.values(fixtures.ids.B);
          // B's ids that a write of A's stored as text of its own (a model id in a deny list, a
          // name): from then on they are A's data too, and may show in its answers.
          const adopted = new Set<string>();
          const secrets = Object.values(fixtures.secrets);
          const stateB = await stateHash(app, b.org.adminKey);
          let stateA = await stateHash(app, a.org.adminKey);

          for (const request of requests) {
            const { options, route } = build(request, fixtures);
            const where = `${options.method} ${String(options.url).slice(0, 300)} ${String(options.payload ?? '').slice(0, 300)}`;
            const response = await app.inject(options);
            tally.requests++;
            const text = response.body;
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {}

            if (response.statusCode >= 500) {
              tally.fiveXx++;
              assert.fail(`${response.statusCode} for ${where}: ${text.slice(0, 500)}`);
            }
            assert.ok(response.headers['x-request-id'], `no x-request-id: ${where}`);
            const ok = response.statusCode >= 200 && response.statusCode < 300;
            const status = String(response.statusCode);
            tally.classes.set(status, (tally.classes.get(status) ?? 0) + 1);
            if (ok && route && options.method === route.method) tally.served.add(routeKey(route));
            if (!ok && options.method !== 'HEAD' && !isEnvelope(body)) {
              tally.nonEnvelope++;
              assert.fail(`not the envelope (${response.statusCode}) for ${where}: ${text.slice(0, 500)}`);
            }

            // Leaks: the other organization's id, its ids unless named, any secret.
            const sent = `${options.url} ${safeDecode(String(options.url))} ${String(options.payload ?? '')}`;
            const live = foreign.filter((id) => !adopted.has(id));
            const named = live.filter((id) => sent.includes(id));
            const shown = [b.org.orgId, ...live.filter((id) => !named.includes(id)), ...secrets].filter((s) =>
              text.includes(s),
            );
            if (shown.length > 0) {
              tally.leaks++;
              assert.fail(`${shown.join(', ')} shown (${response.statusCode}) for ${where}: ${text.slice(0, 500)}`);
            }
            // Named: the answer is the one for ids that exist nowhere (a 200 may only echo them).
            if (named.length > 0 && (!ok || named.some((id) => text.includes(id)))) {
              if (ok && !READ_ONLY(options)) {
                // An echo in a write's answer (a name): the twin would write too; the id must be echoed text.
                assert.ok(
                  named.filter((id) => text.includes(id)).every((id) => String(options.payload ?? '').includes(id)),
                  where,
                );
              } else {
                const twin = build(request, twinFixtures).options;
                const twinResponse = await app.inject(twin);
                tally.twins++;
                let twinText = twinResponse.body;
                for (const id of Object.keys(fixtures.ids.B) as (keyof RouteIds)[]) {
                  const [ghost, real] = [swapped[id], fixtures.ids.B[id]];
                  twinText = twinText.replaceAll(ghost, real).replaceAll(encodeLoose(ghost), encodeLoose(real));
                }
                if (twinResponse.statusCode !== response.statusCode || twinText !== text) {
                  tally.leaks++;
                  assert.fail(
                    `foreign ids answer differently from absent ones for ${where}:\n${response.statusCode} ${text.slice(0, 400)}\n${twinResponse.statusCode} ${twinText.slice(0, 400)}`,
                  );
                }
                if (twinResponse.statusCode < 300 && !READ_ONLY(twin)) stateA = await stateHash(app, a.org.adminKey);
              }
            }

            // A refused write changes nothing; an accepted one sets the new state.
            if (!READ_ONLY(options)) {
              if (ok) for (const id of named) adopted.add(id);
              const now = await stateHash(app, a.org.adminKey);
              if (!ok && now !== stateA) {
                tally.changed++;
                assert.fail(
                  `a refused write (${response.statusCode}) changed the state: ${where}: ${text.slice(0, 300)}`,
                );
              }
              stateA = now;
            }
          }
          assert.equal(await stateHash(app, b.org.adminKey), stateB, 'the other organization’s state changed');
        },
      );
      // Rounds of runs until the count is reached, each round's seed derived from SEED: a failure
      // replays with FTSHARE_FUZZ_SEED, and its counterexample shrinks to the fewest requests.
      for (let round = 0; tally.requests < perStore; round++) {
        await fc.assert(property, { numRuns: 10, seed: SEED + round, includeErrorInReport: true });
      }
    });
  });
}
