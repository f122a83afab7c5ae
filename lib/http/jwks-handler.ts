import { withDeadline } from '../deadline.ts';
import type { SigningKeyRing } from '../signing/key-ring.ts';
import type { HttpResult } from './responses.ts';
import { jsonResponse } from './responses.ts';
import { requestDeadline, route } from './route.ts';

/** What the JWKS route needs of the gateway: its key ring only (functions/jwks.ts builds nothing else). */
export type KeyRingProvider = () => Promise<{ readonly keyRing: SigningKeyRing }>;

/**
 * `GET /.well-known/jwks.json`: every configured public key, retired ones included.
 *
 * @see RFC 7517 section 5 (JWK Set format)
 */
export function jwksHandler(gateway: KeyRingProvider) {
  return route('GET', 'HEAD').handler(async (_event, context): Promise<HttpResult> => {
    const { keyRing } = await gateway();
    const jwks = await withDeadline(requestDeadline(context), () => keyRing.jwks());
    // Short caching: a rotation must reach authorization servers within minutes.
    return jsonResponse(200, jwks, { 'cache-control': 'public, max-age=300' });
  });
}
