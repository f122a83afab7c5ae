import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { normalizeScope, SCOPE_CHARACTERS } from './oauth/scope.ts';

/**
 * The token request, defined once: what a caller asks a token for. The JSON body of `POST /v1/token`
 * is this shape (lib/http/request-schemas.ts), the RFC 6749 facade builds it from form parameters, the
 * caller policy checks it, and the exchanger and cache use it (plus a deadline). Lengths and characters
 * are part of the domain: mainframe API requesters size fixed COBOL fields from them, and the values end
 * up in logs and in the authorization server's request.
 *
 * In zod's tree-shakable `zod/mini` form: the token function validates it on every request, and evaluates
 * about 15 kB of zod for it instead of the full zod's 190 kB, roughly 30 ms of a cold start
 * (docs/PERFORMANCE.md). OpenAPI is generated from it all the same (lib/http/openapi.ts).
 */

// zod/mini leaves the error messages to the application: the English ones, as the full zod gives them.
z.config(en());

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

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A non-empty printable string of at most `maxLength` characters, described for OpenAPI. */
const printable = (maxLength: number, description: string) =>
  z.string().check(z.minLength(1), z.maxLength(maxLength), z.regex(PRINTABLE), z.describe(description));

export const tokenRequest = z.object({
  target: z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(TOKEN_REQUEST_LIMITS.target),
      z.regex(TARGET_NAME),
      z.describe('The configured target (authorization server and client) to obtain the token from.'),
    ),
  subject: printable(
    TOKEN_REQUEST_LIMITS.subject,
    "The end user's id, e.g. the RACF user id of the CICS task owner.",
  ),
  scope: z.optional(
    z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(TOKEN_REQUEST_LIMITS.scope),
        z.regex(SCOPE_CHARACTERS),
        z.overwrite(normalizeScope),
        z.minLength(1, 'holds no scope token'),
        z.describe(
          'Space-separated scopes (RFC 6749 3.3 characters); extra spaces and repeats are dropped. The target default when omitted.',
        ),
      ),
  ),
  audience: z.optional(printable(TOKEN_REQUEST_LIMITS.audience, 'RFC 8693 audience, if allowed.')),
  resource: z.optional(printable(TOKEN_REQUEST_LIMITS.resource, 'RFC 8707 resource, if allowed.')),
});

/**
 * A policy-checked request for a token. `subject` is empty only for an application token (a caller
 * allowed to ask for one on a target whose grant does not act for a user).
 */
export type TokenRequest = Readonly<z.output<typeof tokenRequest>>;
