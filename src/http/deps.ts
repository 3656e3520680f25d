import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { AccessService } from '../domain/access-service.ts';
import type { Clock } from '../ids.ts';
import type { Store } from '../storage/store.ts';
import { ErrorResponse } from './schemas.ts';

/** The Fastify instance with TypeBox types: route handlers see typed params, query and body. */
export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** What route handlers need; passed in, never imported, so tests can build an app on any store. */
export type RouteDeps = { store: Store; clock: Clock; access: AccessService };

/** Every route documents its failures as the one OpenAI envelope. */
export const ERROR_RESPONSES = {
  '4xx': Type.Ref(ErrorResponse),
  '5xx': Type.Ref(ErrorResponse),
} as const;
