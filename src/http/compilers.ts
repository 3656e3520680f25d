import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import type { FastifySchemaCompiler, FastifyServerOptions } from 'fastify';
import { createValidatorCompiler } from './validation.ts';

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
type Factories = NonNullable<SchemaController['compilersFactory']>;

/**
 * How route schemas become request validators (our two Ajv instances, validation.ts) and response
 * serializers (fast-json-stringify, as Fastify builds them by default). Fastify builds every
 * route's validators and serializers when the app becomes ready; that was the largest share of
 * the server's start-up time, spent on routes that may never be called. Here each one is compiled
 * on its first use instead: a few milliseconds, once per route and part. A schema that does not
 * compile now fails its route's first request rather than the start-up; the HTTP suites call
 * every route, so it still fails the tests.
 */
export function schemaCompilers(sharedSchemas: readonly object[]): SchemaController {
  const validatorFor = createValidatorCompiler(sharedSchemas);
  const validatorCompiler: FastifySchemaCompiler<unknown> = (route) => {
    let validate: ReturnType<typeof validatorFor> | undefined;
    return (data: unknown) => {
      validate ??= validatorFor(route);
      return validate(data);
    };
  };
  const buildSerializer = SerializerSelector();
  return {
    compilersFactory: {
      // What `app.setValidatorCompiler` installs, given here so that Fastify does not also load
      // its default Ajv compiler. Fastify types this factory after @fastify/ajv-compiler's, whose
      // functions' properties Fastify itself never reads.
      buildValidator: (() => validatorCompiler) as unknown as NonNullable<Factories['buildValidator']>,
      buildSerializer: (externalSchemas, options) => {
        const serializerFor = buildSerializer(externalSchemas, options);
        return (route) => {
          let serialize: ((data: unknown) => string) | undefined;
          return (data: unknown) => {
            serialize ??= serializerFor(route);
            return serialize(data);
          };
        };
      },
    },
  };
}
