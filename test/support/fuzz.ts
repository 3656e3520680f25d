import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { type RouteCase, type RouteIds, V1_ROUTES } from './routes.ts';

/**
 * Generated requests for the fuzz suite (test/http/fuzz.test.ts). A generated request is symbolic
 * — "organization B's permission id", "A's admin key" — and `build` turns it into inject options
 * over the fixtures of one property run, so a shrunk counterexample replays on fresh fixtures.
 */

export type Org = 'A' | 'B' | 'ghost';
/** A value: an id of one of the fixtures (by kind), or literal text. */
export type Sym = { id: keyof RouteIds; org: Org } | { text: string };

/** The fixtures a request is built over: the caller's organization A, the stranger B, and ids that exist nowhere. */
export type Fixtures = {
  ids: Record<Org, RouteIds>;
  secrets: { adminA: string; projectA: string; adminB: string; projectB: string };
};

type Auth = 'admin' | 'project' | 'none' | 'garbage' | 'lowercase' | 'double' | 'x-api-key' | 'query' | 'body';

type BodySpec =
  | { kind: 'none' }
  | { kind: 'empty' }
  | { kind: 'raw'; text: string }
  | { kind: 'json'; value: unknown }
  | { kind: 'route'; org: Org; mutations: Mutation[] };

type Mutation =
  | { op: 'set'; at: number; value: unknown }
  | { op: 'delete'; at: number }
  | { op: 'add'; key: string; value: unknown }
  | { op: 'duplicate'; at: number; value: unknown }
  | { op: 'nest'; at: number; depth: number }
  | { op: 'huge'; at: number; length: number; item: Sym };

export type GeneratedRequest = {
  /** An index into V1_ROUTES, or an unknown path. */
  route: number | { unknown: string };
  method: string;
  params: Sym[];
  query: [string, Sym][];
  body: BodySpec;
  contentType: string | null;
  auth: Auth;
  encodeColons: boolean;
};

/** Integers in every spelling, and what a lenient parser would take for one. */
const NUMBERS = [
  '0',
  '1',
  '10',
  '010',
  '100',
  '101',
  '-1',
  '-0',
  '+5',
  '1e1',
  '1E3',
  '1e309',
  '-1e309',
  '0x10',
  '0b1',
  '0o7',
  '1.0',
  '5.',
  '.5',
  '1_0',
  '10n',
  'NaN',
  'Infinity',
  '-Infinity',
  ' 5',
  '5 ',
  '9007199254740993',
  '99999999999999999999999',
  '１',
  '٣',
  '',
];

const STRINGS = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'x\udc00\ud800',
  '🚀',
  '..',
  '.',
  '/',
  '%',
  '%ZZ',
  '%00',
  '?',
  '#',
  '__proto__',
  'constructor',
  'prototype',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  ' ',
  '\t',
  '\n',
  'ft:',
  ':',
  'sk-admin-0000000000000000000000000000000000000000',
  'Bearer x',
];

const ID_KINDS: (keyof RouteIds)[] = [
  'owner',
  'grantee',
  'checkpoint',
  'permission',
  'serviceAccount',
  'projectKey',
  'adminKey',
];

/** The id kind a path parameter names. */
const PARAM_KIND: Record<string, keyof RouteIds> = {
  fine_tuned_model_checkpoint: 'checkpoint',
  permission_id: 'permission',
  project_id: 'grantee',
  service_account_id: 'serviceAccount',
  api_key_id: 'projectKey',
  key_id: 'adminKey',
  model: 'checkpoint',
};

const QUERY_KEYS = [
  'limit',
  'after',
  'before',
  'order',
  'project_id',
  'include_archived',
  'event_types[]',
  'project_ids[]',
  'actor_ids[]',
  'resource_ids[]',
  'effective_at[gt]',
  'tenant_only',
  'api_key',
  '__proto__',
  'constructor',
  'limit[]',
  'limit[a]',
  '',
  'x'.repeat(300),
];

const text = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...STRINGS, ...NUMBERS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 257, max: 9000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.bigInt().map(String) },
);

const org = fc.constantFrom<Org>('A', 'A', 'A', 'B', 'B', 'ghost');
const idSym: fc.Arbitrary<Sym> = fc.record({ id: fc.constantFrom(...ID_KINDS), org });
const sym: fc.Arbitrary<Sym> = fc.oneof(
  { weight: 3, arbitrary: idSym },
  { weight: 2, arbitrary: text.map((t) => ({ text: t })) },
);

/** Any JSON value, wrong types for every field: scalars, arrays, objects, ids of either organization. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: idSym },
  { weight: 1, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1e308, [], {}, [null], [''], ['\u0000']) },
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(4), value: anyValue }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(4) }),
  fc.record({
    op: fc.constant('add' as const),
    key: fc.constantFrom('__proto__', 'constructor', 'api_key', 'extra', 'project_ids', 'name', 'id', ''),
    value: anyValue,
  }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(4), value: anyValue }),
  fc.record({ op: fc.constant('nest' as const), at: fc.nat(4), depth: fc.integer({ min: 10, max: 20_000 }) }),
  fc.record({
    op: fc.constant('huge' as const),
    at: fc.nat(4),
    length: fc.integer({ min: 50, max: 5_000 }),
    item: sym,
  }),
);

const body: fc.Arbitrary<BodySpec> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({ kind: fc.constant('route' as const), org, mutations: fc.array(mutation, { maxLength: 3 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('raw' as const),
      text: fc.oneof(
        fc.constantFrom(
          '{',
          '{"name":',
          'null',
          '[]',
          '"x"',
          '1',
          'nul',
          '{"a":1}{"b":2}',
          '\ufeff{}',
          '{"__proto__":{"x":1}}',
        ),
        fc.string({ maxLength: 50 }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('json' as const), value: anyValue }) },
);

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      null,
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded',
      'application/vnd.api+json',
      ';;;',
      '/',
      'application/json;;',
    ),
  },
);

const auth = fc.oneof(
  { weight: 14, arbitrary: fc.constant<Auth>('admin') },
  {
    weight: 6,
    arbitrary: fc.constantFrom<Auth>('project', 'none', 'garbage', 'lowercase', 'double', 'x-api-key', 'query', 'body'),
  },
);

const UNKNOWN_PATHS = [
  '/v1/fine_tuning/jobs',
  '/v1/nope',
  '/v2/organization/projects',
  '/v1/organization/projects/{id}/nope',
  '/v1/fine_tuning/checkpoints/{id}/permissions/{id}/x',
  '/v1/organization',
  '/',
  '/v1',
  '/v1/',
];

/** A generated request: most over `V1_ROUTES` (any of its methods), some over unknown paths and methods. */
export const generatedRequest: fc.Arbitrary<GeneratedRequest> = fc.record({
  route: fc.oneof(
    { weight: 12, arbitrary: fc.nat(V1_ROUTES.length - 1) },
    { weight: 1, arbitrary: fc.constantFrom(...UNKNOWN_PATHS).map((unknown) => ({ unknown })) },
  ),
  method: fc.oneof(
    { weight: 12, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD') },
  ),
  params: fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant<Sym>({ text: '' }) }, { weight: 3, arbitrary: sym }), {
    minLength: 3,
    maxLength: 3,
  }),
  query: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 10 })), sym), {
    maxLength: 4,
  }),
  body,
  contentType,
  auth,
  encodeColons: fc.boolean(),
});

/** `text` percent-encoded for a URL, lone surrogates as the (invalid) UTF-8 of their code unit. */
export function encodeLoose(value: string, keepColons = false): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0xd800 && code <= 0xdfff) {
      out +=
        `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
    } else if (keepColons && char === ':') out += ':';
    else out += encodeURIComponent(char);
  }
  return out;
}

function resolve(value: Sym, fixtures: Fixtures): string {
  return 'id' in value ? fixtures.ids[value.org][value.id] : value.text;
}

/** Replaces every Sym inside a JSON-ish value with its text. */
function resolveDeep(value: unknown, fixtures: Fixtures): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value) && ('id' in value || 'text' in value)) {
    const keys = Object.keys(value);
    if (keys.length === 2 && keys.includes('org')) return resolve(value as Sym, fixtures);
  }
  if (Array.isArray(value)) return value.map((item) => resolveDeep(item, fixtures));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveDeep(v, fixtures)]));
  }
  return value;
}

/** JSON text of an object whose entries may repeat a key (JSON.stringify cannot). */
const objectText = (entries: [string, unknown][]) =>
  `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`;

function bodyText(spec: BodySpec, route: RouteCase | undefined, fixtures: Fixtures): string | undefined {
  switch (spec.kind) {
    case 'none':
      return undefined;
    case 'empty':
      return '';
    case 'raw':
      return spec.text;
    case 'json':
      return JSON.stringify(resolveDeep(spec.value, fixtures)) ?? 'null';
    case 'route': {
      const valid = (route?.body?.(fixtures.ids[spec.org]) ?? {}) as Record<string, unknown>;
      let entries: [string, unknown][] = Object.entries(valid);
      for (const m of spec.mutations) {
        const at = entries.length === 0 ? 0 : m.op === 'add' ? 0 : ('at' in m ? m.at : 0) % entries.length;
        const key = entries[at]?.[0] ?? 'name';
        switch (m.op) {
          case 'set':
            entries = entries.map(([k, v], i) => [k, i === at ? resolveDeep(m.value, fixtures) : v]);
            break;
          case 'delete':
            entries = entries.filter((_, i) => i !== at);
            break;
          case 'add':
            entries.push([m.key, resolveDeep(m.value, fixtures)]);
            break;
          case 'duplicate':
            entries.push([key, resolveDeep(m.value, fixtures)]);
            break;
          case 'nest': {
            // Deep nesting as text: JSON.stringify would recurse as deep.
            const deep = `${'['.repeat(m.depth)}${']'.repeat(m.depth)}`;
            entries = entries.map(([k, v], i) => [k, i === at ? { __raw: deep } : v]);
            break;
          }
          case 'huge':
            entries = entries.map(([k, v], i) => [
              k,
              i === at ? Array.from({ length: m.length }, () => resolve(m.item, fixtures)) : v,
            ]);
            break;
        }
      }
      return objectText(entries).replace(/\{"__raw":"([[\]]*)"\}/g, '$1');
    }
  }
}

/** The inject options of `request` over `fixtures`, and the route it aims at (if any). */
export function build(request: GeneratedRequest, fixtures: Fixtures): { options: InjectOptions; route?: RouteCase } {
  const route = typeof request.route === 'number' ? V1_ROUTES[request.route] : undefined;
  const template = route ? route.path : (request.route as { unknown: string }).unknown;
  let index = 0;
  const path = template.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const given = request.params[index++] ?? { text: '' };
    // An empty literal stands for "the right id of A", the common case.
    const value =
      'text' in given && given.text === '' ? fixtures.ids.A[PARAM_KIND[name] ?? 'owner'] : resolve(given, fixtures);
    return encodeLoose(value, !request.encodeColons);
  });
  const query = request.query.map(([key, value]) => `${encodeLoose(key)}=${encodeLoose(resolve(value, fixtures))}`);
  const key = request.auth === 'project' ? fixtures.secrets.projectA : fixtures.secrets.adminA;
  const headers: Record<string, string> = {};
  switch (request.auth) {
    case 'admin':
    case 'project':
      headers.authorization = `Bearer ${key}`;
      break;
    case 'garbage':
      headers.authorization = `Bearer sk-admin-${'0'.repeat(40)}`;
      break;
    case 'lowercase':
      headers.authorization = `bearer ${key}`;
      break;
    case 'double':
      headers.authorization = `Bearer ${key} ${key}`;
      break;
    case 'x-api-key':
      headers['x-api-key'] = key;
      break;
    case 'query':
      query.push(`api_key=${key}`);
      break;
    case 'body':
    case 'none':
      break;
  }
  let payload = bodyText(request.body, route, fixtures);
  if (request.auth === 'body' && payload?.startsWith('{')) {
    payload = payload === '{}' ? `{"api_key":"${key}"}` : `{"api_key":"${key}",${payload.slice(1)}`;
  }
  if (request.contentType !== null && payload !== undefined) headers['content-type'] = request.contentType;
  const method = request.method || route?.method || 'GET';
  const url = `${path}${query.length > 0 ? `?${query.join('&')}` : ''}`;
  return {
    options: { method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) },
    ...(route ? { route } : {}),
  };
}
