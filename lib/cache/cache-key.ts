import { createHash } from 'node:crypto';
import type { TokenIdentity } from '../oauth/token-exchanger.ts';

/** Everything a token was issued for (the exchanger's TokenIdentity): tokens are shared only if all of it is equal. */
export type CacheKeyParts = TokenIdentity;

/**
 * A SHA-256 over a canonical, unambiguous encoding of the parts (JSON of a fixed-order array, scopes
 * sorted and de-duplicated), so `a b` and `b a` share a token and no choice of values can collide with
 * another's. The subject never appears in the table in clear.
 */
export function cacheKey(parts: CacheKeyParts): string {
  const scopes = [...new Set((parts.scope ?? '').split(' ').filter(Boolean))].sort();
  const canonical = JSON.stringify([
    'v1',
    parts.target,
    parts.clientId,
    parts.grant,
    parts.subject,
    scopes,
    parts.audience ?? null,
    parts.resource ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** SHA-256 of an access token, to compare a presented token with a cached one without storing either. */
export function tokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('hex');
}
