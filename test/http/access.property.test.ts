import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import {
  propertySettings,
  type RefWorld,
  referenceAdminModels,
  referenceDecision,
  referenceModels,
} from '../support/access-reference.ts';
import { backends } from '../support/backends.ts';
import {
  assertError,
  assertModelNotFound,
  permissionsUrl,
  type Response,
  send,
  serviceAccount,
} from '../support/http.ts';
import { listModels, modelAccess, modelIds, modelPath, modelPermissionsUrl, useApps } from '../support/models.ts';
import { bearer, createProject, newOrg, registerCheckpoint, type TestOrg } from '../support/world.ts';

/**
 * Issue "Grants take effect", the one decision (CONTRACT §5a): random worlds built through the HTTP
 * API — projects (some archived), checkpoints registered and deleted (both routes), grants and
 * revokes, allow and deny lists set and deleted, base models or none — and after EVERY change, for
 * every project key and every candidate model (unknown ones, another organization's included):
 *   GET /v1/models lists it  ⇔  GET /v1/models/{model} answers 200  ⇔  model_access says allowed,
 * all three equal to the reference model (test/support/access-reference.ts), and model_access's
 * reason equals the reference's. Each change's own answer (status, code) is predicted too.
 */

const PROJECTS = 3;
const BASE = ['gpt-4o-mini', 'meta-llama/Llama-3.1-8B'];
/** Checkpoint names: one is also a base model, one a prefix of another, one also another organization's. */
const NAMES = [
  'gpt-4o-mini',
  'ft:gpt-4o-mini-2024-07-18:acme:weather:B7R9VjQd',
  'ft:gpt-4o-mini-2024-07-18:acme:weather:B7R9VjQd:ckpt-step-88',
  'ft:gpt-4o-mini-2024-07-18:acme:news:Q2w3E4r5',
];
const STRANGERS_ONLY = 'ft:gpt-4o-mini-2024-07-18:stranger:own:Z9y8X7w6';
const CANDIDATES = [...new Set([...NAMES, ...BASE, STRANGERS_ONLY, 'ft:gpt-4o-mini-2024-07-18:acme:never:00000000'])];

type Command =
  | { kind: 'register'; name: string; owner: number }
  | { kind: 'deleteCheckpoint'; name: string; via: 'models' | 'registry' }
  | { kind: 'grant'; name: string; projects: number[]; ghost: boolean }
  | { kind: 'revoke'; name: string; project: number }
  | { kind: 'setRule'; project: number; mode: 'allow_list' | 'deny_list'; ids: string[] }
  | { kind: 'deleteRule'; project: number }
  | { kind: 'archive'; project: number };

const project = fc.integer({ min: 0, max: PROJECTS - 1 });
const name = fc.constantFrom(...NAMES);
const register = fc.record({ kind: fc.constant('register' as const), name, owner: project });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: register },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deleteCheckpoint' as const),
      name,
      via: fc.constantFrom('models' as const, 'registry' as const),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('grant' as const),
      name,
      projects: fc.uniqueArray(project, { minLength: 1, maxLength: PROJECTS }),
      ghost: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('revoke' as const), name, project }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('setRule' as const),
      project,
      mode: fc.constantFrom('allow_list' as const, 'deny_list' as const),
      ids: fc.subarray(CANDIDATES, { maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteRule' as const), project }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('archive' as const), project }) },
);

/** A run: a few registrations first (so that grants have something to attach to), then anything. */
const runArb = fc
  .tuple(
    fc.uniqueArray(register, { minLength: 1, maxLength: NAMES.length, selector: (c) => c.name }),
    fc.array(commandArb, { minLength: 1, maxLength: 8 }),
  )
  .map(([registrations, rest]): Command[] => [...registrations, ...rest]);

/** The reference state of one run's organization, changed only after the server acknowledged a change. */
class Model {
  readonly projects = new Map<
    string,
    { archived: boolean; rule: { mode: 'allow_list' | 'deny_list'; ids: Set<string> } | null }
  >();
  readonly checkpoints = new Map<string, { owner: string; seq: number; grants: Map<string, string> }>();
  #seq = 0;

  constructor(readonly baseModels: readonly string[]) {}

  register(name: string, owner: string): void {
    this.checkpoints.set(name, { owner, seq: this.#seq++, grants: new Map() });
  }

  world(): RefWorld {
    return {
      baseModels: this.baseModels,
      projects: this.projects,
      checkpoints: new Map(
        [...this.checkpoints].map(([n, c]) => [n, { owner: c.owner, seq: c.seq, grants: new Set(c.grants.keys()) }]),
      ),
    };
  }

  /** A permission id of another checkpoint than `name`, to try on the wrong one. */
  permissionElsewhere(name: string): string | undefined {
    for (const [other, c] of this.checkpoints) if (other !== name) for (const id of c.grants.values()) return id;
    return undefined;
  }
}

type Run = { app: FastifyInstance; org: TestOrg; projects: string[]; keys: string[]; model: Model };

function expectStatus(response: Response, status: number, what: string, code?: string): void {
  if (status === 200) assert.equal(response.status, 200, `${what}: ${JSON.stringify(response.body)}`);
  else assertError(response, status, code === undefined ? {} : { code });
}

/** Sends `command` and checks its answer against the model; the model changes only on success. */
async function apply(run: Run, command: Command): Promise<void> {
  const { app, org, projects, model } = run;
  const headers = bearer(org.adminKey);
  const what = JSON.stringify(command);
  switch (command.kind) {
    case 'register': {
      const owner = projects[command.owner] as string;
      const existing = model.checkpoints.get(command.name);
      const response = await send(app, {
        method: 'POST',
        url: '/v1/fine_tuning/checkpoints',
        headers,
        payload: { fine_tuned_model_checkpoint: command.name, project_id: owner },
      });
      // Registering again with the same owner returns it, even once that owner is archived.
      if (existing?.owner === owner) return expectStatus(response, 200, what);
      if (existing) return expectStatus(response, 400, what, 'checkpoint_exists');
      if (model.projects.get(owner)?.archived) return expectStatus(response, 400, what, 'project_archived');
      expectStatus(response, 200, what);
      model.register(command.name, owner);
      return;
    }
    case 'deleteCheckpoint': {
      const url = command.via === 'models' ? modelPath(command.name) : `/v1/fine_tuning/checkpoints/${command.name}`;
      const response = await send(app, { method: 'DELETE', url, headers });
      if (model.checkpoints.delete(command.name)) return expectStatus(response, 200, what);
      if (command.via === 'models' && model.baseModels.includes(command.name)) {
        return expectStatus(response, 400, what, 'model_not_deletable');
      }
      return assertModelNotFound(response, command.name);
    }
    case 'grant': {
      const ids = command.projects.map((i) => projects[i] as string);
      const response = await send(app, {
        method: 'POST',
        url: permissionsUrl(command.name),
        headers,
        payload: { project_ids: command.ghost ? [...ids, 'proj_ghost'] : ids },
      });
      const checkpoint = model.checkpoints.get(command.name);
      if (!checkpoint) return assertModelNotFound(response, command.name);
      // All or nothing: an unknown or archived project refuses the whole grant (which one is named
      // first is not the point here; the checks after it prove that nothing was granted).
      if (command.ghost || ids.some((id) => model.projects.get(id)?.archived)) {
        return assertError(response, 400, { param: 'project_ids' });
      }
      expectStatus(response, 200, what);
      for (const permission of response.body.data as { id: string; project_id: string }[]) {
        const known = checkpoint.grants.get(permission.project_id);
        if (known) assert.equal(permission.id, known, 'a repeated grant answers the existing permission');
        checkpoint.grants.set(permission.project_id, permission.id);
      }
      return;
    }
    case 'revoke': {
      const projectId = projects[command.project] as string;
      const checkpoint = model.checkpoints.get(command.name);
      const own = checkpoint?.grants.get(projectId);
      // Without a permission of its own, try another one's id: the wrong checkpoint's is a 404 too.
      const id = own ?? model.permissionElsewhere(command.name) ?? 'cp_000000000000000000000000';
      const response = await send(app, { method: 'DELETE', url: `${permissionsUrl(command.name)}/${id}`, headers });
      if (!checkpoint) return assertModelNotFound(response, command.name);
      if (own === undefined) return expectStatus(response, 404, what, 'not_found');
      expectStatus(response, 200, what);
      checkpoint.grants.delete(projectId);
      return;
    }
    case 'setRule': {
      const projectId = projects[command.project] as string;
      const response = await send(app, {
        method: 'POST',
        url: modelPermissionsUrl(projectId),
        headers,
        payload: { mode: command.mode, model_ids: command.ids },
      });
      expectStatus(response, 200, what);
      const state = model.projects.get(projectId);
      if (state) state.rule = { mode: command.mode, ids: new Set(command.ids) };
      return;
    }
    case 'deleteRule': {
      const projectId = projects[command.project] as string;
      expectStatus(await send(app, { method: 'DELETE', url: modelPermissionsUrl(projectId), headers }), 200, what);
      const state = model.projects.get(projectId);
      if (state) state.rule = null;
      return;
    }
    case 'archive': {
      const projectId = projects[command.project] as string;
      const url = `/v1/organization/projects/${projectId}/archive`;
      expectStatus(await send(app, { method: 'POST', url, headers }), 200, what);
      const state = model.projects.get(projectId);
      if (state) state.archived = true;
      return;
    }
  }
}

/** After every change: the three routes agree with each other and with the reference, for every key and model. */
async function check(run: Run, strangerProject: string, after: string): Promise<void> {
  const { app, org, projects, keys, model } = run;
  const world = model.world();
  const where = (projectId: string, m: string) => `after ${after}: ${projectId} / ${m}`;

  assert.deepEqual(await modelIds(app, org.adminKey), referenceAdminModels(world), `after ${after}: admin list`);

  const askAbout = [...projects, 'proj_ghost', strangerProject];
  const checks = askAbout.flatMap((project_id) => CANDIDATES.map((m) => ({ project_id, model: m })));
  const answers = await modelAccess(app, org.adminKey, checks);
  const allowedByAccess = new Set<string>();
  answers.forEach((answer, i) => {
    const { project_id, model: m } = checks[i] as { project_id: string; model: string };
    const expected = referenceDecision(world, project_id, m);
    assert.deepEqual({ allowed: answer.allowed, reason: answer.reason }, expected, where(project_id, m));
    if (answer.allowed) allowedByAccess.add(`${project_id} ${m}`);
  });

  for (const [i, projectId] of projects.entries()) {
    const key = keys[i] as string;
    if (model.projects.get(projectId)?.archived) {
      // An archived project's key works nowhere; model_access (above) said project_archived.
      for (const url of ['/v1/models', modelPath(CANDIDATES[0] as string)]) {
        assertError(await send(app, { method: 'GET', url, headers: bearer(key) }), 401, { code: 'invalid_api_key' });
      }
      continue;
    }
    const listed = await listModels(app, key);
    const listedIds = new Set(listed.map((m) => m.id));
    for (const m of CANDIDATES) {
      const response = await send(app, { method: 'GET', url: modelPath(m), headers: bearer(key) });
      const retrieved = response.status === 200;
      if (!retrieved) assertModelNotFound(response, m);
      const byAccess = allowedByAccess.has(`${projectId} ${m}`);
      assert.equal(retrieved, listedIds.has(m), `${where(projectId, m)}: retrieve ${retrieved}, list ${!retrieved}`);
      assert.equal(retrieved, byAccess, `${where(projectId, m)}: retrieve ${retrieved}, model_access ${byAccess}`);
      if (retrieved)
        assert.deepEqual(
          response.body,
          listed.find((l) => l.id === m),
          where(projectId, m),
        );
    }
    const expected = referenceModels(world, projectId);
    assert.deepEqual(
      listed.map((m) => ({ id: m.id, ownedBy: m.owned_by === 'system' ? 'system' : 'organization' })),
      expected,
      `after ${after}: ${projectId}'s list`,
    );
    for (const m of listed) assert.ok(m.owned_by === 'system' || m.owned_by === org.orgId, JSON.stringify(m));
  }
}

for (const backend of await backends()) {
  describe(`the one access decision through /v1/models, /v1/models/{m} and model_access (${backend.name})`, () => {
    // Two apps over one store: one with base models, one without.
    const world = useApps(backend, [{ baseModels: BASE }, {}]);
    let strangerProject: string;

    before(async () => {
      // Another organization with checkpoints of the same names and its own: none of them exists for us.
      const app = world.apps[0] as FastifyInstance;
      const stranger = await newOrg(world.store);
      strangerProject = await createProject(app, stranger.adminKey, 'stranger');
      for (const n of [NAMES[1] as string, STRANGERS_ONLY]) {
        await registerCheckpoint(app, stranger.adminKey, n, strangerProject);
        const granted = await send(app, {
          method: 'POST',
          url: permissionsUrl(n),
          headers: bearer(stranger.adminKey),
          payload: { project_ids: [strangerProject] },
        });
        assert.equal(granted.status, 200);
      }
    });

    test('random worlds and changes: the three routes agree with each other and with the reference', async () => {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), runArb, async (withBase, commands) => {
          const app = world.apps[withBase ? 0 : 1] as FastifyInstance;
          const org = await newOrg(world.store);
          const model = new Model(withBase ? BASE : []);
          const projects: string[] = [];
          const keys: string[] = [];
          for (let i = 0; i < PROJECTS; i++) {
            const id = await createProject(app, org.adminKey, `p${i}`);
            projects.push(id);
            keys.push((await serviceAccount(app, org.adminKey, id)).secret);
            model.projects.set(id, { archived: false, rule: null });
          }
          const run: Run = { app, org, projects, keys, model };
          await check(run, strangerProject, 'the start');
          for (const [i, command] of commands.entries()) {
            await apply(run, command);
            await check(run, strangerProject, `change ${i} ${JSON.stringify(command)}`);
          }
        }),
        // Fewer runs on PostgreSQL: every request also reads the organization's version there.
        propertySettings(backend.name === 'sqlite' ? 15 : 10),
      );
    });
  });
}
