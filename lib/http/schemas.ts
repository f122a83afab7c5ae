import { z } from 'zod';
import { API_ERRORS, type ApiErrorCode } from './api-errors.ts';

/**
 * The HTTP API's bodies, defined once: handlers validate with them and docs/openapi.json is generated
 * from them. Flat objects and a maxLength on every string: mainframe API requesters generate fixed-size
 * COBOL fields from these.
 */

// Printable, no control characters: these values end up in logs and in the authorization server's request.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const printable = /^[^\x00-\x1F\x7F-\x9F\u2028\u2029]*$/;

export const tokenRequestBody = z
  .object({
    target: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .describe('The configured target (authorization server and client) to obtain the token from.'),
    subject: z
      .string()
      .min(1)
      .max(256)
      .regex(printable)
      .describe("The end user's id, e.g. the RACF user id of the CICS task owner."),
    scope: z
      .string()
      .min(1)
      .max(1024)
      .regex(printable)
      .optional()
      .describe('Space-separated scopes; the target default when omitted.'),
    audience: z
      .string()
      .min(1)
      .max(512)
      .regex(printable)
      .optional()
      .describe('RFC 8693 audience, if allowed.'),
    resource: z
      .string()
      .min(1)
      .max(2048)
      .regex(printable)
      .optional()
      .describe('RFC 8707 resource, if allowed.'),
  })
  .strict();

export type TokenRequestBody = z.infer<typeof tokenRequestBody>;

export const tokenInvalidationBody = tokenRequestBody
  .extend({
    access_token: z.string().min(1).max(8192).describe('The token the API refused (compared by hash).'),
  })
  .strict();

export const tokenInvalidationResponseBody = z
  .object({
    invalidated: z
      .boolean()
      .describe(
        'true if the cached token was this one and is gone; false if the cache already holds another.',
      ),
  })
  .strict();

export type TokenInvalidationResponseBody = z.infer<typeof tokenInvalidationResponseBody>;

export const tokenResponseBody = z
  .object({
    access_token: z.string().max(8192).describe('The access token; send it as a Bearer token.'),
    token_type: z.string().max(32).describe('Bearer (or as the authorization server said).'),
    expires_in: z.number().int().describe('Seconds until the token expires.'),
    expires_at: z.number().int().describe('Expiry as seconds since 1970-01-01T00:00:00Z.'),
    scope: z.string().max(1024).describe('The scope granted (may be empty).'),
  })
  .strict();

export type TokenResponseBody = z.infer<typeof tokenResponseBody>;

export const errorResponseBody = z
  .object({
    error: z
      .enum(Object.keys(API_ERRORS) as [ApiErrorCode, ...ApiErrorCode[]])
      .meta({ maxLength: 32 })
      .describe('Stable error code; see the table in docs/API.md.'),
    error_description: z
      .string()
      .max(512)
      .describe('Human-readable detail; never contains secrets or tokens.'),
    request_id: z.string().max(128).describe('Quote it when reporting a problem.'),
  })
  .strict();

export type ErrorResponseBody = z.infer<typeof errorResponseBody>;

export const healthResponseBody = z
  .object({
    status: z.enum(['ok']).meta({ maxLength: 8 }).describe('ok when the gateway is serving.'),
    version: z.string().max(64).describe('Gateway version.'),
  })
  .strict();

export const jwksResponseBody = z
  .object({
    keys: z
      .array(
        z
          .object({
            kty: z.string().max(8),
            kid: z.string().max(128),
            alg: z.string().max(8),
            use: z.string().max(8),
          })
          .catchall(z.string().max(1024)),
      )
      .describe('RFC 7517 public keys, retired ones included.'),
  })
  .strict();

export const readinessResponseBody = z
  .object({
    status: z
      .enum(['ready', 'not_ready'])
      .meta({ maxLength: 16 })
      .describe('ready (HTTP 200) when every dependency answered; not_ready (HTTP 503) otherwise.'),
    checked_at: z.string().max(32).describe('When the checks ran (ISO 8601); a report is reused for 30 s.'),
    checks: z
      .record(
        z.string().max(256),
        z
          .object({
            status: z.enum(['ok', 'failed']).meta({ maxLength: 8 }),
            error: z
              .string()
              .max(64)
              .optional()
              .describe('Why it failed: a gateway error code, an AWS error name, timeout or unreachable.'),
            duration_ms: z.number().int().describe('How long the check took.'),
          })
          .strict(),
      )
      .describe('One result per dependency: signing_key:<id>, secret:<config field>, table, target:<name>.'),
    request_id: z.string().max(128).describe('Quote it when reporting a problem.'),
  })
  .strict();

export type ReadinessResponseBody = z.infer<typeof readinessResponseBody>;
