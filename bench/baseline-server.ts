import Fastify from 'fastify';

/**
 * The baseline the routes are measured against: a minimal Fastify server (the framework ftshare
 * uses, at the version it uses), a `node --import tsx` child on loopback (the loader costs only at
 * start-up; the server itself runs compiled),
 * answering every request with one static JSON body of BASELINE_BODY_BYTES bytes, the size of a
 * list response. No store, no auth, no validation, no logging: what the framework and the
 * machine cost by themselves.
 */
const bytes = Number(process.env.BASELINE_BODY_BYTES ?? '1024');
const envelope = (filler: string) => JSON.stringify({ object: 'list', data: [], filler });
const filler = 'x'.repeat(Math.max(0, bytes - envelope('').length));
const body = envelope(filler);

const app = Fastify({ logger: false });
app.route({
  method: ['GET', 'POST', 'DELETE'],
  url: '/*',
  handler: async (_request, reply) => reply.type('application/json; charset=utf-8').send(body),
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`baseline (${Buffer.byteLength(body)} bytes) listening on ${address}/v1\n`);
process.once('SIGTERM', () => void app.close());
