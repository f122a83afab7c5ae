import { z } from 'zod';
import { gatewayConfig } from './schema.ts';

/** The only URLs the configuration takes (`httpUrl` in schema.ts); zod exports them as `format: uri`. */
const HTTP_URL_PATTERN = '^[Hh][Tt][Tt][Pp][Ss]?://';

/**
 * The configuration's JSON Schema, generated from the same zod definition that validates it. Emitted
 * without any `format`: zod writes non-standard ones (`includes`, `starts_with`) next to the equivalent
 * `pattern`, and a default validator (Ajv 2020 without ajv-formats) refuses to compile any format it does
 * not implement, `uri` included. Patterns carry the same checks portably.
 * @see https://json-schema.org/draft/2020-12/json-schema-validation#section-7
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(gatewayConfig, {
      io: 'input',
      unrepresentable: 'any',
      override: ({ jsonSchema }) => {
        const format = jsonSchema.format;
        if (format === undefined) return;
        delete jsonSchema.format;
        if (format === 'uri' && jsonSchema.pattern === undefined) jsonSchema.pattern = HTTP_URL_PATTERN;
      },
    }),
    title: 'jwt-bearer-gateway configuration',
  };
}
