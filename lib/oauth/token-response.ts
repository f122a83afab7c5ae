import { GatewayError } from '../errors.ts';

/** RFC 6749 A.12 puts no bound on an access token; the gateway's API documents 8192 characters. */
export const MAX_ACCESS_TOKEN_LENGTH = 8192;
/** Refresh tokens are kept (encrypted) in the cache; the same bound applies. */
export const MAX_REFRESH_TOKEN_LENGTH = 8192;
/** The API documents 1024 characters for `scope`. */
export const MAX_SCOPE_LENGTH = 1024;
/**
 * A token is cached and reported for at most a day, whatever the server says (`1e12` was cached): past
 * that the gateway simply asks again. Servers issuing longer-lived tokens (Authlib: 10 days) still work.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 86_400;

/** RFC 6749 A.12 / A.17: access and refresh tokens are 1*VSCHAR (%x20-7E). */
const VSCHAR = /^[\x20-\x7E]+$/;
/** RFC 6749 A.4: scope-tokens of NQCHAR separated by spaces. */
const SCOPE = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;
/** RFC 6749 A.13: a type-name, or a URI (kept to printable ASCII without spaces). */
const TOKEN_TYPE = /^[\x21-\x7E]{1,32}$/;
/** RFC 6749 A.14: expires-in = 1*DIGIT. A JSON number, or a string of digits as some servers send. */
const DIGITS = /^[0-9]{1,15}$/;

/**
 * Checks what oauth4webapi would loosen, on the raw JSON: it reads `expires_in` with parseFloat, so
 * `"600 seconds"` became 600. Integers only, as a number or a string of digits; 0 or less is refused
 * (the token is already expired: `0` was served).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function checkRawExpiresIn(value: unknown): void {
  if (value === undefined) return;
  const seconds = typeof value === 'string' && DIGITS.test(value) ? Number(value) : value;
  if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds)) {
    throw invalid('expires_in is not a whole number of seconds');
  }
  if (seconds <= 0) throw invalid('expires_in says the token has already expired');
}

/** The parts of a token response the gateway uses, validated before anything caches, logs or returns them. */
export interface ValidatedTokenFields {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly expiresIn: number | undefined;
  readonly scope: string | undefined;
  readonly refreshToken: string | undefined;
}

/**
 * Validates a processed token response: the access token within 8192 characters of VSCHAR (CR, LF and
 * NUL were accepted and cached), the token type short and printable, the scope within its grammar and
 * the API's 1024 characters, `expires_in` clamped to a day. A refresh token that breaks its grammar is
 * dropped: it only spares a signature, and is never worth refusing the token for.
 * @see https://www.rfc-editor.org/rfc/rfc6749#appendix-A
 */
export function validateTokenFields(fields: ValidatedTokenFields): ValidatedTokenFields {
  const { accessToken, tokenType, expiresIn, scope, refreshToken } = fields;
  if (accessToken.length > MAX_ACCESS_TOKEN_LENGTH) {
    throw invalid(`the access token is longer than ${MAX_ACCESS_TOKEN_LENGTH} characters`);
  }
  if (!VSCHAR.test(accessToken)) {
    throw invalid('the access token has characters outside RFC 6749 A.12 (%x20-7E)');
  }
  if (!TOKEN_TYPE.test(tokenType)) throw invalid('token_type is not a short printable name');
  if (scope !== undefined && (scope.length > MAX_SCOPE_LENGTH || !SCOPE.test(scope))) {
    throw invalid(`scope is longer than ${MAX_SCOPE_LENGTH} characters or outside RFC 6749 3.3`);
  }
  const keepRefresh =
    refreshToken !== undefined &&
    refreshToken.length <= MAX_REFRESH_TOKEN_LENGTH &&
    VSCHAR.test(refreshToken);
  return {
    accessToken,
    tokenType,
    expiresIn: expiresIn === undefined ? undefined : Math.min(expiresIn, MAX_TOKEN_LIFETIME_SECONDS),
    scope,
    refreshToken: keepRefresh ? refreshToken : undefined,
  };
}

function invalid(reason: string): GatewayError {
  return new GatewayError('ERR_AS_RESPONSE_INVALID', `invalid token response: ${reason}`);
}
