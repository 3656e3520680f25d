import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ACCESS_REASONS } from '../../src/domain/access.ts';
import { backends } from '../support/backends.ts';
import { archive, assertError, grant, send } from '../support/http.ts';
import { modelAccess, setModelPermissions, useApps } from '../support/models.ts';
import { bearer, checkpointName, createProject, newOrg, projectKey, registerCheckpoint } from '../support/world.ts';

const BASE = ['gpt-4o-mini', 'meta-llama/Llama-3.1-8B'];
const URL = '/v1/organization/model_access';

/** The documented reasons, in the documented order of precedence (CONTRACT §6, src/domain/access.ts). */
const DOCUMENTED = [
  'project_not_found',
  'project_archived',
  'model_not_found',
  'denied',
  'not_in_allow_list',
  'owner',
  'shared',
  'base',
  'not_shared',
];

/** CONTRACT §6: the gateway's batch access check. */
for (const backend of await backends()) {
  describe(`model_access (${backend.name})`, () => {
    const world = useApps(backend, [{ baseModels: BASE }]);
    let app: FastifyInstance;
    before(() => {
      app = world.apps[0] as FastifyInstance;
    });

    test('the closed set of reasons is the documented one, in the documented order', () => {
      assert.deepEqual([...ACCESS_REASONS], DOCUMENTED);
    });

    test('every reason, and which one wins when several apply', async () => {
      const org = await newOrg(world.store);
      const p = async (name: string) => createProject(app, org.adminKey, name);
      const [owner, grantee, plain, denying, allowing, archived] = [
        await p('owner'),
        await p('grantee'),
        await p('plain'),
        await p('denying'),
        await p('allowing'),
        await p('archived'),
      ];
      const [own, shared, unshared, selfShared] = [
        checkpointName(),
        checkpointName(),
        checkpointName(),
        checkpointName(),
      ];
      await registerCheckpoint(app, org.adminKey, own, grantee);
      await registerCheckpoint(app, org.adminKey, shared, owner);
      await registerCheckpoint(app, org.adminKey, unshared, owner);
      await registerCheckpoint(app, org.adminKey, selfShared, grantee);
      await registerCheckpoint(app, org.adminKey, 'gpt-4o-mini', owner);
      await grant(app, org.adminKey, shared, [grantee, denying, allowing]);
      await grant(app, org.adminKey, selfShared, [grantee]);
      await grant(app, org.adminKey, 'gpt-4o-mini', [grantee]);
      const archivedOwn = checkpointName();
      await registerCheckpoint(app, org.adminKey, archivedOwn, archived);
      await grant(app, org.adminKey, archivedOwn, [archived, grantee]);
      await archive(app, org.adminKey, archived);
      await setModelPermissions(app, org.adminKey, denying, 'deny_list', [
        shared,
        unshared,
        BASE[1] as string,
        'ghost',
      ]);
      await setModelPermissions(app, org.adminKey, allowing, 'allow_list', [unshared, BASE[0] as string, 'ghost']);

      const stranger = await newOrg(world.store);
      const foreignProject = await createProject(app, stranger.adminKey);
      const foreign = checkpointName();
      await registerCheckpoint(app, stranger.adminKey, foreign, foreignProject);

      const cases: [string, string, boolean, string][] = [
        // The project comes first: an unknown or foreign project, whatever the model.
        ['proj_unknown', own, false, 'project_not_found'],
        ['proj_unknown', 'ghost', false, 'project_not_found'],
        [foreignProject, foreign, false, 'project_not_found'],
        // An archived project may use nothing, even what it owns, even base models.
        [archived, archivedOwn, false, 'project_archived'],
        [archived, BASE[0] as string, false, 'project_archived'],
        [archived, 'ghost', false, 'project_archived'],
        // Then the model: neither a base model nor a checkpoint of the organization.
        [grantee, 'ghost', false, 'model_not_found'],
        [grantee, foreign, false, 'model_not_found'],
        [denying, 'ghost', false, 'model_not_found'],
        [allowing, 'ghost', false, 'model_not_found'],
        // Then refusals of the model permissions, before any grant.
        [denying, shared, false, 'denied'],
        [denying, BASE[1] as string, false, 'denied'],
        [denying, unshared, false, 'denied'],
        [allowing, shared, false, 'not_in_allow_list'],
        [allowing, own, false, 'not_in_allow_list'],
        [allowing, BASE[1] as string, false, 'not_in_allow_list'],
        // Then grants: owner before shared before base.
        [grantee, own, true, 'owner'],
        [grantee, selfShared, true, 'owner'],
        [owner, 'gpt-4o-mini', true, 'owner'],
        [grantee, shared, true, 'shared'],
        [grantee, 'gpt-4o-mini', true, 'shared'],
        [grantee, archivedOwn, true, 'shared'],
        [plain, BASE[1] as string, true, 'base'],
        [plain, 'gpt-4o-mini', true, 'base'],
        [allowing, BASE[0] as string, true, 'base'],
        [denying, BASE[0] as string, true, 'base'],
        // Last: a checkpoint of the organization that is neither owned nor shared, allow list or not.
        [plain, unshared, false, 'not_shared'],
        [grantee, unshared, false, 'not_shared'],
        [allowing, unshared, false, 'not_shared'],
      ];
      const checks = cases.map(([project_id, model]) => ({ project_id, model }));
      const answers = await modelAccess(app, org.adminKey, checks);
      const wanted = cases.map(([project_id, model, allowed, reason]) => ({
        object: 'model_access',
        project_id,
        model,
        allowed,
        reason,
      }));
      assert.deepEqual(answers, wanted);
      const seen = new Set(answers.map((a) => a.reason));
      assert.deepEqual(
        DOCUMENTED.filter((r) => !seen.has(r)),
        [],
        'every documented reason is exercised',
      );

      // Repeated checks are answered each time, in request order, the same.
      const doubled = await modelAccess(app, org.adminKey, [...checks].reverse().concat(checks));
      assert.deepEqual(doubled, [...wanted].reverse().concat(wanted));
      // The stranger's admin key gets its own organization's answers, and learns nothing of ours.
      const theirs = await modelAccess(app, stranger.adminKey, [
        { project_id: foreignProject, model: foreign },
        { project_id: grantee, model: own },
        { project_id: foreignProject, model: own },
      ]);
      assert.deepEqual(
        theirs.map((a) => a.reason),
        ['owner', 'project_not_found', 'model_not_found'],
      );

      // Allowed exactly when the project's key may use the model.
      for (const [project, model, allowed] of cases) {
        if (project === 'proj_unknown' || project === foreignProject || project === archived) continue;
        const key = await projectKey(app, org.adminKey, project);
        const url = `/v1/models/${model.replaceAll('/', '%2F')}`;
        const response = await send(app, { method: 'GET', url, headers: bearer(key) });
        assert.equal(response.status, allowed ? 200 : 404, `${project} ${model}`);
      }
    });

    test('1 to 1000 checks; every bad body answers 400 naming the field', async () => {
      const org = await newOrg(world.store);
      const project = await createProject(app, org.adminKey);
      const thousand = Array.from({ length: 1000 }, (_, i) => ({ project_id: project, model: `m${i % 7}` }));
      const answers = await modelAccess(app, org.adminKey, thousand);
      assert.ok(answers.every((a) => a.reason === 'model_not_found'));
      assert.deepEqual(
        (await modelAccess(app, org.adminKey, [{ project_id: project, model: BASE[1] as string }]))[0]?.reason,
        'base',
      );

      const headers = { ...bearer(org.adminKey), 'content-type': 'application/json' };
      const check = { project_id: project, model: 'gpt-4o-mini' };
      const bodies: [unknown, string | null, string?][] = [
        [{}, 'checks', 'missing_required_parameter'],
        [{ checks: [] }, 'checks'],
        [{ checks: [...thousand, check] }, 'checks'],
        [{ checks: check }, 'checks'],
        [{ checks: [{ project_id: project }] }, 'model', 'missing_required_parameter'],
        [{ checks: [{ model: 'gpt-4o-mini' }] }, 'project_id', 'missing_required_parameter'],
        [{ checks: [{ ...check, model: '' }] }, 'checks'],
        [{ checks: [{ ...check, model: 'x'.repeat(257) }] }, 'checks'],
        [{ checks: [{ ...check, project_id: '' }] }, 'checks'],
        [{ checks: [{ ...check, project_id: 'has space' }] }, 'checks'],
        [{ checks: [{ ...check, project_id: 7 }] }, 'checks'],
        [{ checks: [{ ...check, allowed: true }] }, 'allowed', 'unknown_parameter'],
        [{ checks: [check], dry_run: true }, 'dry_run', 'unknown_parameter'],
        [[check], null],
      ];
      for (const [payload, param, code] of bodies) {
        const response = await send(app, { method: 'POST', url: URL, headers, payload: JSON.stringify(payload) });
        assertError(response, 400, { param, ...(code ? { code } : {}) });
      }
      // A project key may not ask.
      const key = await projectKey(app, org.adminKey, project);
      assertError(
        await send(app, { method: 'POST', url: URL, headers: bearer(key), payload: { checks: [check] } }),
        403,
      );
    });
  });
}
