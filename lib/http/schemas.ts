import { z } from 'zod';
import { normalizeScope, SCOPE_CHARACTERS } from '../oauth/scope.ts';
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
      .regex(SCOPE_CHARACTERS)
      .overwrite(normalizeScope)
      .min(1, 'holds no scope token')
      .optional()
      .describe(
        'Space-separated scopes (RFC 6749 3.3 characters); extra spaces and repeats are dropped. The target default when omitted.',
      ),
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
    scope: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe('The scope granted; absent when no scope was asked for and the server granted none.'),
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
