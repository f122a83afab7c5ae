import { z } from 'zod';
import { tokenRequest } from '../token-request.ts';
import { API_ERRORS, type ApiErrorCode } from './api-errors.ts';

/**
 * The HTTP API's bodies, defined once: handlers validate with them and docs/openapi.json is generated
 * from them. Flat objects and a maxLength on every string: mainframe API requesters generate fixed-size
 * COBOL fields from these.
 */

/** `POST /v1/token`: the domain token request as a strict JSON object. */
export const tokenRequestBody = tokenRequest.strict();

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
