import { GatewayError } from '../errors.ts';

/** The end user named by the caller. */
export const SUBJECT_HEADER = 'x-subject';
/**
 * The end user proven by a JWT the mainframe signed (the RFC 8693 `subject_token` of the facade, as a
 * header). Not `Authorization`: that is the caller's own credential on this route (HTTP Basic, SigV4, a
 * Lambda authorizer's token) and, on the way out, the gateway's access token for the API.
 */
export const SUBJECT_TOKEN_HEADER = 'x-subject-token';

/** The end user as a proxied call's headers name or prove them; at most one of the two is set. */
export interface IdentityHeaders {
  readonly named: string | undefined;
  readonly token: string | undefined;
}

/**
 * Reads `x-subject` and `x-subject-token` as one value each, refusing with ERR_REQUEST_INVALID what
 * could be read as another user:
 * - a repeated header: API Gateway (and the local server) join repeated headers with commas, which
 *   `x-subject: ALICE` plus `x-subject: BOB` would turn into the user `ALICE,BOB`; a user id or a JWT
 *   never holds a comma, so a comma is a repetition (RFC 9110 5.3: these fields are no lists);
 * - invalid UTF-8: header values arrive decoded from UTF-8 (RFC 9110 5.5 leaves non-ASCII to the
 *   fields' own rules; the local server decodes as API Gateway does), an undecodable byte as U+FFFD,
 *   which no user id holds.
 * Surrounding blanks are no part of a value (RFC 9110 5.5): a RACF user id from ASSIGN USERID comes
 * padded with blanks to 8 characters, and a fixed-length COBOL field pads a token the same way.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-5.3
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-5.5
 */
export function identityHeaders(headers: Readonly<Record<string, string | undefined>>): IdentityHeaders {
  return { named: oneValue(headers, SUBJECT_HEADER), token: oneValue(headers, SUBJECT_TOKEN_HEADER) };
}

function oneValue(headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = headers[name]?.replace(/^[ \t]+|[ \t]+$/g, '');
  if (value === undefined) return undefined;
  if (value.includes(',')) {
    throw new GatewayError('ERR_REQUEST_INVALID', `send ${name} once, with one value (no comma)`);
  }
  if (value.includes('\uFFFD')) throw new GatewayError('ERR_REQUEST_INVALID', `${name} is not valid UTF-8`);
  return value;
}
