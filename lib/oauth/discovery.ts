import * as oauth from 'oauth4webapi';
import { GatewayError } from '../errors.ts';
import { KeyedOnce } from '../once.ts';
import { type HttpSettings, requestOptions } from './http-options.ts';

/**
 * Finds an authorization server's token endpoint from its issuer identifier: RFC 8414 metadata first,
 * then OpenID Connect discovery. One lookup per issuer per container; failures are not cached.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export class AuthorizationServerDiscovery {
  private readonly cache = new KeyedOnce<oauth.AuthorizationServer>();

  discover(issuer: string, settings: HttpSettings): Promise<oauth.AuthorizationServer> {
    return this.cache.get(issuer, () => this.fetchMetadata(issuer, settings));
  }

  /**
   * A network failure, a timeout, a 5xx or a 429 at either well-known URL is an outage (retryable); when
   * both answered and neither gave usable metadata (404, an issuer that does not match, no token
   * endpoint), the target's configuration is wrong, and saying "unavailable" would only invite retries.
   */
  private async fetchMetadata(issuer: string, settings: HttpSettings): Promise<oauth.AuthorizationServer> {
    const issuerUrl = new URL(issuer);
    const failures: string[] = [];
    let outage = false;
    for (const algorithm of ['oauth2', 'oidc'] as const) {
      let response: Response;
      try {
        response = await oauth.discoveryRequest(issuerUrl, {
          algorithm,
          ...requestOptions(issuer, settings),
        });
      } catch (error) {
        outage = true;
        failures.push(`${algorithm}: ${(error as Error).message}`);
        continue;
      }
      if (response.status >= 500 || response.status === 429) {
        outage = true;
        await response.body?.cancel();
        failures.push(`${algorithm}: HTTP ${response.status}`);
        continue;
      }
      try {
        const metadata = await oauth.processDiscoveryResponse(issuerUrl, response);
        if (metadata.token_endpoint) return metadata;
        failures.push(`${algorithm}: no token_endpoint`);
      } catch (error) {
        failures.push(`${algorithm}: ${(error as Error).message}`);
      }
    }
    const what = `cannot discover the token endpoint of ${issuer} (${failures.join('; ')})`;
    throw new GatewayError(outage ? 'ERR_AS_UNAVAILABLE' : 'ERR_TARGET_MISCONFIGURED', what);
  }
}
