import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ACCESS_REASONS, decide, indexProjectAccess, usableModels } from '../../src/domain/access.ts';
import type { Checkpoint, ProjectAccessData } from '../../src/storage/store.ts';
import {
  PRECEDENCE,
  propertySettings,
  type RefCheckpoint,
  type RefProject,
  type RefWorld,
  referenceDecision,
  referenceModels,
} from '../support/access-reference.ts';

/**
 * The ONE access decision (src/domain/access.ts), pure: `decide` and `usableModels` against the
 * reference model of test/support/access-reference.ts, over many random worlds. The HTTP property
 * test (test/http/access.property.test.ts) checks the same reference through every route.
 */

const PROJECTS = ['proj_0', 'proj_1', 'proj_2'];
/** Names that collide on purpose: a base model that is also a checkpoint, one name a prefix of another. */
const NAMES = ['gpt-4o-mini', 'llama', 'ft:gpt-4o-mini:acme:a:1', 'ft:gpt-4o-mini:acme:a:1:ckpt-step-2', 'ft:b:3'];
const CANDIDATES = [...NAMES, 'ft:unknown:9', 'org/base'];
const BASE_POOL = ['gpt-4o-mini', 'llama', 'org/base'];

const ruleArb = fc.option(
  fc.record({
    mode: fc.constantFrom('allow_list' as const, 'deny_list' as const),
    ids: fc.subarray(CANDIDATES).map((ids) => new Set(ids)),
  }),
  { nil: null },
);

const worldArb: fc.Arbitrary<RefWorld> = fc
  .record({
    baseModels: fc.array(fc.constantFrom(...BASE_POOL), { maxLength: 4 }),
    projects: fc.tuple(
      ...PROJECTS.map(() => fc.record({ archived: fc.boolean(), rule: ruleArb }) as fc.Arbitrary<RefProject>),
    ),
    checkpoints: fc.uniqueArray(
      fc.record({
        name: fc.constantFrom(...NAMES),
        owner: fc.constantFrom(...PROJECTS),
        grants: fc.subarray(PROJECTS),
      }),
      { selector: (c) => c.name, maxLength: NAMES.length },
    ),
  })
  .map(({ baseModels, projects, checkpoints }) => ({
    baseModels,
    projects: new Map(PROJECTS.map((id, i) => [id, projects[i] as RefProject])),
    // The array's (random) order is the registration order.
    checkpoints: new Map(
      checkpoints.map((c, seq): [string, RefCheckpoint] => [
        c.name,
        { owner: c.owner, seq, grants: new Set(c.grants) },
      ]),
    ),
  }));

/** What the store would read for `projectId` (undefined: it does not exist). */
function accessData(world: RefWorld, projectId: string): ProjectAccessData | undefined {
  const project = world.projects.get(projectId);
  if (!project) return undefined;
  const ordered = [...world.checkpoints.entries()].sort(([, a], [, b]) => a.seq - b.seq);
  const asCheckpoint = ([name, c]: [string, RefCheckpoint]): Checkpoint => ({
    orgId: 'org-test',
    name,
    projectId: c.owner,
    createdAt: 1_700_000_000 + c.seq,
  });
  return {
    archived: project.archived,
    owned: ordered.filter(([, c]) => c.owner === projectId).map(asCheckpoint),
    shared: ordered.filter(([, c]) => c.grants.has(projectId)).map(asCheckpoint),
    rule: project.rule && { mode: project.rule.mode, modelIds: [...project.rule.ids] },
  };
}

describe('the access decision, pure, against the reference model', () => {
  test('the reference precedence is the documented one', () => {
    assert.deepEqual([...ACCESS_REASONS], [...PRECEDENCE]);
  });

  test('decide() gives the reference answer and reason for every project and model', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const base = new Set(world.baseModels);
        for (const projectId of [...PROJECTS, 'proj_ghost']) {
          const data = accessData(world, projectId);
          const project = data && indexProjectAccess(data);
          for (const model of CANDIDATES) {
            const exists = world.checkpoints.has(model);
            const got = decide(project, model, base, exists);
            assert.deepEqual(got, referenceDecision(world, projectId, model), `${projectId} / ${model}`);
            // What a model's existence may change is the reason of a refusal, never the answer
            // (GET /v1/models/{model} relies on it and does not look).
            assert.equal(decide(project, model, base, !exists).allowed, got.allowed, `${projectId} / ${model}`);
          }
        }
      }),
      propertySettings(3000),
    );
  });

  test('usableModels() lists exactly the allowed models, in the reference order, each once', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        for (const projectId of PROJECTS) {
          const data = accessData(world, projectId);
          assert.ok(data);
          const listed = usableModels(indexProjectAccess(data), world.baseModels).map((m) => ({
            id: m.id,
            ownedBy: m.checkpoint ? 'organization' : 'system',
          }));
          assert.deepEqual(listed, referenceModels(world, projectId), projectId);
          const allowed = CANDIDATES.filter((m) => referenceDecision(world, projectId, m).allowed);
          assert.deepEqual(listed.map((m) => m.id).sort(), allowed.sort());
        }
      }),
      propertySettings(3000),
    );
  });
});
