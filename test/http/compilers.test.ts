import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Fastify, { type FastifyRequest } from 'fastify';
import { schemaCompilers } from '../../src/http/compilers.ts';

/**
 * The validators and serializers of src/http/compilers.ts are compiled on a route's first use,
 * not at start-up; they must behave exactly as the ones Fastify would have compiled then.
 */

const Item = { $id: 'Item', type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };

async function appWith(route: (app: ReturnType<typeof Fastify>) => void) {
  const app = Fastify({ logger: false, schemaController: schemaCompilers([Item]) });
  app.addSchema(Item);
  route(app);
  await app.ready();
  return app;
}

describe('schema compilers (compiled on first use)', () => {
  test('a schema that cannot compile does not stop start-up; its route fails when first called', async () => {
    const app = await appWith((a) =>
      a.post(
        '/broken',
        { schema: { body: { type: 'object', properties: { n: { type: 'nmber' } } } } },
        async () => ({}),
      ),
    );
    assert.equal((await app.inject({ method: 'POST', url: '/broken', payload: { n: 1 } })).statusCode, 500);
    await app.close();
  });

  test('query strings are coerced and defaulted; bodies are not coerced; failures name the field', async () => {
    const app = await appWith((a) => {
      a.get(
        '/q',
        {
          schema: {
            querystring: {
              type: 'object',
              properties: { limit: { type: 'integer', maximum: 10, default: 7 } },
              required: ['limit'],
            },
          },
        },
        async (request: FastifyRequest) => request.query,
      );
      a.post(
        '/b',
        {
          schema: {
            body: {
              type: 'object',
              properties: { ids: { type: 'array', items: { type: 'string' } } },
              additionalProperties: false,
            },
          },
        },
        async (request: FastifyRequest) => request.body,
      );
    });
    assert.deepEqual((await app.inject('/q?limit=3')).json(), { limit: 3 });
    assert.deepEqual((await app.inject('/q')).json(), { limit: 7 });
    // Twice: the second call runs the validator compiled by the first.
    for (let i = 0; i < 2; i++) {
      const tooBig = await app.inject('/q?limit=11');
      assert.equal(tooBig.statusCode, 400);
      assert.match(tooBig.json().message, /'limit': must be <= 10/);
    }
    const notCoerced = await app.inject({ method: 'POST', url: '/b', payload: { ids: 'x' } });
    assert.equal(notCoerced.statusCode, 400);
    assert.match(notCoerced.json().message, /'ids': must be array/);
    const unknown = await app.inject({ method: 'POST', url: '/b', payload: { other: 1 } });
    assert.equal(unknown.statusCode, 400);
    assert.deepEqual((await app.inject({ method: 'POST', url: '/b', payload: { ids: ['a'] } })).json(), { ids: ['a'] });
    await app.close();
  });

  test('responses are serialized by their schema, shared schemas included', async () => {
    const app = await appWith((a) =>
      a.get(
        '/items',
        {
          schema: {
            response: { 200: { type: 'object', properties: { data: { type: 'array', items: { $ref: 'Item#' } } } } },
          },
        },
        async () => ({ data: [{ id: 'a', secret: 'not serialized' }], extra: true }),
      ),
    );
    for (let i = 0; i < 2; i++) assert.equal((await app.inject('/items')).body, '{"data":[{"id":"a"}]}');
    await app.close();
  });
});
