// Issuing the opaque access and refresh tokens of the custom grants through oidc-provider's models.
import type { Client, Provider as OidcProvider, TokenEndpointGrantContext } from 'oidc-provider';

export interface Issuance {
  provider: OidcProvider;
  issueRefreshTokens: boolean;
  /** The resource server that end-user access tokens are JWTs for; opaque tokens when undefined. */
  jwtAudience: string | undefined;
}

interface UserTokenRequest {
  accountId: string;
  scope: string;
  gty: string;
  audience?: string;
  issuedTokenType?: string;
  /** Whether the grant may come with a refresh token at all (token exchange never does). */
  refreshable: boolean;
}

/**
 * Issue an opaque access token (and optionally a refresh token) for an end user. oidc-provider's
 * refresh_token grant and introspection both look the tokens' Grant up, so one is created and saved first.
 */
export async function issueUserTokens(
  ctx: TokenEndpointGrantContext,
  issuance: Issuance,
  request: UserTokenRequest,
) {
  const { provider } = issuance;
  const { client } = ctx.oidc;
  const grantId = await saveGrant(provider, client, request);

  // RFC 9068: a JWT for the configured resource server, unless the request named its own audience.
  const jwtAudience = request.audience === undefined ? issuance.jwtAudience : undefined;
  const accessToken = new provider.AccessToken({
    accountId: request.accountId,
    client,
    grantId,
    gty: request.gty,
    scope: request.scope || undefined,
    aud: request.audience,
    ...(jwtAudience
      ? {
          resourceServer: new provider.ResourceServer(jwtAudience, {
            audience: jwtAudience,
            scope: request.scope,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }),
        }
      : {}),
  });
  ctx.oidc.entity('AccessToken', accessToken);
  const accessTokenValue = await accessToken.save();

  const withRefresh =
    request.refreshable && issuance.issueRefreshTokens && client.grantTypeAllowed('refresh_token');
  ctx.body = {
    access_token: accessTokenValue,
    token_type: accessToken.tokenType,
    expires_in: accessToken.expiration,
    scope: accessToken.scope,
    issued_token_type: request.issuedTokenType,
    refresh_token: withRefresh ? await saveRefreshToken(ctx, provider, grantId, request) : undefined,
  };
}

async function saveGrant(provider: OidcProvider, client: Client, request: UserTokenRequest): Promise<string> {
  const grant = new provider.Grant({ accountId: request.accountId, clientId: client.clientId });
  // Refreshed access tokens get the intersection of the requested and the Grant's OIDC scope.
  if (request.scope) grant.addOIDCScope(request.scope);
  return grant.save();
}

async function saveRefreshToken(
  ctx: TokenEndpointGrantContext,
  provider: OidcProvider,
  grantId: string,
  request: UserTokenRequest,
): Promise<string> {
  const refreshToken = new provider.RefreshToken({
    accountId: request.accountId,
    client: ctx.oidc.client,
    grantId,
    gty: request.gty,
    scope: request.scope,
    rotations: 0,
  });
  ctx.oidc.entity('RefreshToken', refreshToken);
  return refreshToken.save();
}
