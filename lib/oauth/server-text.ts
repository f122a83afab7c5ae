/**
 * Text an authorization server chose (`error`, `error_description`, `error_uri`) goes to logs, the
 * negative cache and the caller; a hostile server once sent a 50 MB `error_description`, logged twice
 * and cached. RFC 6749 5.2 allows only %x20-21 / %x23-5B / %x5D-7E in them: anything else (CR, LF,
 * NUL, other controls, non-ASCII) becomes `?`, and the text is cut to a length a person reads.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export function serverText(value: string, maxLength: number): string {
  const clean = value.slice(0, maxLength + 1).replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?');
  return clean.length > maxLength ? `${clean.slice(0, maxLength - 3)}...` : clean;
}

/** Longest `error` code kept: real ones (`invalid_grant`, `temporarily_unavailable`) are far shorter. */
export const MAX_ERROR_CODE_LENGTH = 64;
/** Longest `error_description` kept. */
export const MAX_ERROR_DESCRIPTION_LENGTH = 256;
