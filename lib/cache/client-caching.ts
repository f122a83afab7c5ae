import { decodeJwt } from 'jose';

/**
 * Which access tokens a caching client keeps, so that asking again for one means it was refused.
 * IBM z/OS Connect keeps a JWT that has an `exp` claim and no `jti` claim; with
 * `cacheTokensWithJti="true"` also one with a `jti` ("Calling an API secured with a JSON Web Token",
 * section "JSON Web Token (JWT) caching"). A token it does not keep it asks for again on every call.
 * - `jwtWithoutJti`: IBM's documented rule (the default);
 * - `jwt`: any JWT with `exp` (a server with cacheTokensWithJti="true");
 * - `any`: every token (a client that caches opaque tokens too).
 */
export type ClientCaching = 'jwtWithoutJti' | 'jwt' | 'any';

/** Whether a client caching by `rule` holds `accessToken` until it expires. */
export function clientKeeps(accessToken: string, rule: ClientCaching): boolean {
  if (rule === 'any') return true;
  let claims: Record<string, unknown>;
  try {
    // Read only, never trusted: the shape decides what the client does, not who signed it.
    claims = decodeJwt(accessToken);
  } catch {
    return false;
  }
  if (typeof claims.exp !== 'number') return false;
  return rule === 'jwt' || claims.jti === undefined;
}
