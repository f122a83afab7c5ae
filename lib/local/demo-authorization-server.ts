/**
 * A real OAuth 2.0 authorization server built on `oidc-provider`, used by the integration tests and by
 * `npm start` as the bundled demo AS. On top of oidc-provider's built-in `client_credentials` and
 * `refresh_token` grants it registers the grants the gateway needs:
 *
 * - `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523), verified strictly against trusted issuers,
 * - `password` (RFC 6749 section 4.3), against a static user table,
 * - `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693) for JWT subject tokens.
 *
 * Everything is held in memory: this is a demo and test fixture, not a production AS. One concern per
 * file in `demo-as/`:
 *
 * - `server.ts`             the HTTP socket, startup and the handle tests use (introspect, close)
 * - `options.ts`            options, defaults and their startup check
 * - `provider.ts`           the oidc-provider configuration and the custom grants' registration
 * - `grants.ts`             the jwt-bearer, password and token-exchange grant handlers
 * - `token-issuance.ts`     access and refresh tokens for an end user
 * - `assertion-verifier.ts` RFC 7523 section 3 checks, signature and single use (jti)
 * - `storage-adapter.ts`    oidc-provider's storage, in memory
 * - `token-request-log.ts`  every token request, recorded for the tests
 * - `oidc-provider.ts`      oidc-provider itself, loaded without its runtime notice
 */
export { type DemoAuthorizationServer, startDemoAuthorizationServer } from './demo-as/server.ts';
