import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * The request bodies the token function validates on every request, in zod's tree-shakable `zod/mini`
 * form: the token function evaluates about 15 kB of zod instead of 190 kB, roughly 30 ms of a cold start
 * (docs/PERFORMANCE.md). Same rules, same messages, same JSON Schema as the rest of `schemas.ts`, which
 * re-exports them for docs/openapi.json: they are still defined once. Flat objects and a maxLength on
 * every string: mainframe API requesters generate fixed-size COBOL fields from these.
 */

// zod/mini leaves the error messages to the application: the English ones, as the full zod gives them.
z.config(en());

// Printable, no control characters: these values end up in logs and in the authorization server's request.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const printable = /^[^\x00-\x1F\x7F-\x9F\u2028\u2029]*$/;

/** A bounded printable string, described for the OpenAPI document. */
const text = (maxLength: number, description: string) =>
  z.string().check(z.minLength(1), z.maxLength(maxLength), z.regex(printable), z.describe(description));

export const tokenRequestBody = z.strictObject({
  target: z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(64),
      z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
      z.describe('The configured target (authorization server and client) to obtain the token from.'),
    ),
  subject: text(256, "The end user's id, e.g. the RACF user id of the CICS task owner."),
  scope: z.optional(text(1024, 'Space-separated scopes; the target default when omitted.')),
  audience: z.optional(text(512, 'RFC 8693 audience, if allowed.')),
  resource: z.optional(text(2048, 'RFC 8707 resource, if allowed.')),
});

export type TokenRequestBody = z.infer<typeof tokenRequestBody>;

export const tokenInvalidationBody = z.strictObject({
  ...tokenRequestBody.def.shape,
  access_token: z
    .string()
    .check(z.minLength(1), z.maxLength(8192), z.describe('The token the API refused (compared by hash).')),
});
