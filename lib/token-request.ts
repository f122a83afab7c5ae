import { z } from 'zod';
import { normalizeScope, SCOPE_CHARACTERS } from './oauth/scope.ts';

/**
 * The token request, defined once: what a caller asks a token for. The JSON body of `POST /v1/token`
 * is this shape (lib/http/schemas.ts), the RFC 6749 facade builds it from form parameters, the caller
 * policy checks it, and the exchanger and cache use it (plus a deadline). Lengths and characters are
 * part of the domain: mainframe API requesters size fixed COBOL fields from them, and the values end up
 * in logs and in the authorization server's request.
 */

// Printable, no control characters.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const PRINTABLE = /^[^\x00-\x1F\x7F-\x9F\u2028\u2029]*$/;

/** Field limits, shared by every representation of a token request (JSON, form, OpenAPI). */
export const TOKEN_REQUEST_LIMITS = {
  target: 64,
  subject: 256,
  scope: 1024,
  audience: 512,
  resource: 2048,
} as const;

export const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const tokenRequest = z.object({
  target: z
    .string()
    .min(1)
    .max(TOKEN_REQUEST_LIMITS.target)
    .regex(TARGET_NAME)
    .describe('The configured target (authorization server and client) to obtain the token from.'),
  subject: z
    .string()
    .min(1)
    .max(TOKEN_REQUEST_LIMITS.subject)
    .regex(PRINTABLE)
    .describe("The end user's id, e.g. the RACF user id of the CICS task owner."),
  scope: z
    .string()
    .min(1)
    .max(TOKEN_REQUEST_LIMITS.scope)
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
    .max(TOKEN_REQUEST_LIMITS.audience)
    .regex(PRINTABLE)
    .optional()
    .describe('RFC 8693 audience, if allowed.'),
  resource: z
    .string()
    .min(1)
    .max(TOKEN_REQUEST_LIMITS.resource)
    .regex(PRINTABLE)
    .optional()
    .describe('RFC 8707 resource, if allowed.'),
});

/**
 * A policy-checked request for a token. `subject` is empty only for an application token (a caller
 * allowed to ask for one on a target whose grant does not act for a user).
 */
export type TokenRequest = Readonly<z.output<typeof tokenRequest>>;
