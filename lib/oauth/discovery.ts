import * as oauth from 'oauth4webapi';
import { GatewayError } from '../errors.ts';
import { type HttpSettings, requestOptions } from './http-options.ts';

/**
 * Finds an authorization server's token endpoint from its issuer identifier: RFC 8414 metadata first,
 * then OpenID Connect discovery. One lookup per issuer per container; failures are not cached.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export class AuthorizationServerDiscovery {
  private readonly cache = new Map<string, Promise<oauth.AuthorizationServer>>();

  discover(issuer: string, settings: HttpSettings): Promise<oauth.AuthorizationServer> {
    let metadata = this.cache.get(issuer);
    if (!metadata) {
      metadata = this.fetchMetadata(issuer, settings);
      this.cache.set(issuer, metadata);
      metadata.catch(() => this.cache.delete(issuer));
    }
    return metadata;
  }

  private async fetchMetadata(issuer: string, settings: HttpSettings): Promise<oauth.AuthorizationServer> {
    const issuerUrl = new URL(issuer);
    const failures: string[] = [];
    for (const algorithm of ['oauth2', 'oidc'] as const) {
      try {
        const response = await oauth.discoveryRequest(issuerUrl, {
          algorithm,
          ...requestOptions(issuer, settings),
        });
        const metadata = await oauth.processDiscoveryResponse(issuerUrl, response);
        if (metadata.token_endpoint) return metadata;
        failures.push(`${algorithm}: no token_endpoint`);
      } catch (error) {
        failures.push(`${algorithm}: ${(error as Error).message}`);
      }
    }
    throw new GatewayError(
      'ERR_AS_UNAVAILABLE',
      `cannot discover the token endpoint of ${issuer} (${failures.join('; ')})`,
    );
  }
}
