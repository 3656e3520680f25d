import { Type } from '@sinclair/typebox';
import type { AccessService } from '../domain/access-service.ts';
import type { App } from '../http/deps.ts';
import { EXTENSION, NO_KEY } from '../http/openapi.ts';
import { exportDocument } from '../http/routes/transfer.ts';
import type { Clock } from '../ids.ts';
import type { Store } from '../storage/store.ts';
import { installReferences } from './references.ts';
import { type EmulatorWorld, resetWorld } from './world.ts';

/**
 * The emulator's own routes (they exist only in emulator mode, and need no key): reset to the
 * seeded state, and the whole state as a seed document (snapshot, diff, replay).
 */
export function emulatorRoutes(
  app: App,
  store: Store,
  clock: Clock,
  access: AccessService,
  world: EmulatorWorld,
): void {
  installReferences(app, store, clock, access);

  app.post(
    '/__ftshare/reset',
    {
      schema: {
        ...EXTENSION,
        operationId: 'emulatorReset',
        tags: ['Emulator'],
        summary: 'Emulator only: erase everything and load the seed again.',
        security: NO_KEY,
        response: { 200: Type.Object({ object: Type.Literal('emulator.reset'), organizations: Type.Integer() }) },
      },
    },
    async () => {
      // Pending last-used times first: written after the reset, they would land on the re-seeded keys.
      await access.flushLastUsed();
      await resetWorld(store, clock, world.seed);
      return { object: 'emulator.reset' as const, organizations: (await store.listOrganizations()).length };
    },
  );

  app.get(
    '/__ftshare/state',
    {
      schema: {
        ...EXTENSION,
        operationId: 'emulatorState',
        tags: ['Emulator'],
        summary: 'Emulator only: the whole state, every organization, as a seed document (keys by hash).',
        security: NO_KEY,
      },
    },
    async (_request, reply) => {
      const organizations = [];
      for (const org of await store.listOrganizations()) {
        let text = '';
        for await (const chunk of exportDocument(store, org.id)) text += chunk;
        const { ftshare_state: _version, ...document } = JSON.parse(text) as Record<string, unknown>;
        organizations.push(document);
      }
      reply.type('application/json; charset=utf-8');
      return reply.send(JSON.stringify({ ftshare_state: 1, organizations }));
    },
  );
}
