/**
 * A scope as RFC 6749 3.3 spells it: scope tokens of NQCHAR (printable ASCII but `"` and `\`) separated
 * by single spaces. Anything else is refused before the policy or the server sees it.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3
 */
export const SCOPE_CHARACTERS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

/**
 * The canonical form of a scope: single spaces, no leading or trailing ones, each token once, in the
 * order sent. `" a  b a"` and `"a b"` ask for the same thing; passed on as sent, the first would cost
 * an authorization server round trip (and a cache entry) for the server to refuse or to treat alike.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3
 */
export function normalizeScope(scope: string): string {
  return [...new Set(scope.split(' ').filter((token) => token.length > 0))].join(' ');
}
