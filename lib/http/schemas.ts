import { z } from 'zod';
import { API_ERRORS, type ApiErrorCode } from './api-errors.ts';
import { ERROR_DESCRIPTION_CHARACTERS } from './responses.ts';

/**
 * The HTTP API's bodies, defined once: handlers validate with them and docs/openapi.json is generated
 * from them. Flat objects and a maxLength on every string: mainframe API requesters generate fixed-size
 * COBOL fields from these.
 */

// The request bodies: in zod/mini, as the token function validates them on every request.
export { tokenInvalidationBody, tokenRequestBody } from './request-schemas.ts';

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

/** Integers are bounded tightly: requesters generate PIC 9(n) fields from the bounds. */
const MAX_EPOCH_SECONDS = 253_402_300_799; // 9999-12-31T23:59:59Z

const expiresIn = z
  .number()
  .int()
  .min(0)
  .max(2_147_483_647)
  .meta({ format: 'int32' })
  .describe('Seconds until the token expires.');

export const tokenResponseBody = z
  .object({
    access_token: z.string().max(8192).describe('The access token; send it as a Bearer token.'),
    token_type: z.string().max(32).describe('Bearer (or as the authorization server said).'),
    expires_in: expiresIn,
    expires_at: z
      .number()
      .int()
      .min(0)
      .max(MAX_EPOCH_SECONDS)
      .meta({ format: 'int64' })
      .describe('Expiry as seconds since 1970-01-01T00:00:00Z.'),
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
      .regex(ERROR_DESCRIPTION_CHARACTERS)
      .describe(
        'Human-readable detail; never contains secrets or tokens. Printable ASCII but `"` and `\\` (RFC 6749 5.2).',
      ),
    request_id: z.string().max(128).describe('Quote it when reporting a problem.'),
  })
  .strict();

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
    admission: z
      .record(
        z.string().max(64),
        z
          .object({
            requests_per_second: z.number().describe("The target's configured rate."),
            max_concurrent: z.number().int().describe('Its configured cap on requests in flight.'),
            backoff_until: z
              .string()
              .max(32)
              .nullable()
              .describe('End of the back-off the authorization server asked for (ISO 8601); null when none.'),
            next_turn_in_ms: z
              .number()
              .int()
              .describe('How far ahead the next free turn is: 0 means a request now is sent at once.'),
            in_flight: z.number().int().describe("This instance's token requests in flight to the server."),
            shared: z
              .boolean()
              .describe(
                'true: read from the shared table; false: this instance alone (no table, or it failed).',
              ),
          })
          .strict(),
      )
      .describe('Admission state per target, read live (not part of the cached report): a storm shows here.'),
    request_id: z.string().max(128).describe('Quote it when reporting a problem.'),
  })
  .strict();

export type ReadinessResponseBody = z.infer<typeof readinessResponseBody>;

/** RFC 6749 5.1 (and RFC 8693 2.2.1) success body. */
export const oauthTokenResponseBody = z
  .object({
    access_token: z.string().max(8192).describe('The access token; send it as a Bearer token.'),
    token_type: z.string().max(32).describe('Bearer (or as the authorization server said).'),
    expires_in: expiresIn,
    scope: z.string().max(1024).optional().describe('The scope granted, when not empty.'),
    issued_token_type: z
      .string()
      .max(64)
      .optional()
      .describe('token-exchange only: urn:ietf:params:oauth:token-type:access_token.'),
  })
  .strict();

export type OAuthTokenResponseBody = z.infer<typeof oauthTokenResponseBody>;

/** RFC 6749 5.2 error body. */
export const oauthErrorResponseBody = z
  .object({
    error: z
      .enum([
        'invalid_request',
        'invalid_client',
        'invalid_grant',
        'unauthorized_client',
        'unsupported_grant_type',
        'invalid_scope',
        'invalid_target',
        'temporarily_unavailable',
        'server_error',
      ])
      .meta({ maxLength: 32 })
      .describe('RFC 6749 5.2 error code; see docs/API.md.'),
    error_description: z
      .string()
      .max(512)
      .regex(ERROR_DESCRIPTION_CHARACTERS)
      .describe(
        'Human-readable detail; never secrets or tokens. Printable ASCII but `"` and `\\` (RFC 6749 5.2).',
      ),
  })
  .strict();
