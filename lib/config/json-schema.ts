import { z } from 'zod';
import { gatewayConfig } from './schema.ts';

/** The configuration's JSON Schema, generated from the same zod definition that validates it. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(gatewayConfig, { io: 'input', unrepresentable: 'any' }),
    title: 'jwt-bearer-gateway configuration',
  };
}
