// The grants the demo AS adds to oidc-provider's own: jwt-bearer (RFC 7523), password (RFC 6749 4.3) and
// token exchange (RFC 8693), with the parameter and scope rules they share.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TokenEndpointGrantContext } from 'oidc-provider';
import {
  AssertionKeysUnavailable,
  AssertionRejected,
  type AssertionVerifier,
  type VerifiedAssertion,
} from './assertion-verifier.ts';
import { errors } from './oidc-provider.ts';
import { type Issuance, issueUserTokens } from './token-issuance.ts';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

type GrantHandler = (ctx: TokenEndpointGrantContext) => Promise<void>;

/**
 * JWT bearer grant: the client presents an assertion about an end user (`sub`) and receives an access
 * token for that user.
 *
 * @see RFC 7523 section 2.1 (using JWTs as authorization grants) and section 3.1 (error responses)
 */
export function jwtBearerHandler(verifier: AssertionVerifier, issuance: Issuance): GrantHandler {
  return async (ctx) => {
    const assertion = requireParam(ctx, 'assertion');
    // Before verification, which spends the jti: a scope mistake must not burn the assertion.
    const scope = resolveScope(ctx);
    const { sub } = await verifyOr(errorWith(errors.InvalidGrant), () =>
      verifier.verify(assertion, ctx.oidc.client.clientId, 'assertion'),
    );
    await issueUserTokens(ctx, issuance, { accountId: sub, scope, gty: JWT_BEARER_GRANT, refreshable: true });
  };
}

/**
 * Resource owner password credentials grant against the static `users` table.
 *
 * @see RFC 6749 section 4.3
 */
export function passwordHandler(users: Record<string, string>, issuance: Issuance): GrantHandler {
  return async (ctx) => {
    const username = requireParam(ctx, 'username');
    const password = requireParam(ctx, 'password');
    const expected = Object.hasOwn(users, username) ? users[username] : undefined;
    if (expected === undefined || !safeEqual(password, expected)) {
      throw errorWith(errors.InvalidGrant)('invalid resource owner credentials');
    }
    const scope = resolveScope(ctx);
    await issueUserTokens(ctx, issuance, { accountId: username, scope, gty: 'password', refreshable: true });
  };
}

/**
 * Token exchange for a JWT subject token, verified exactly like a jwt-bearer assertion. RFC 8693 2.2.2
 * mandates `invalid_request` (not `invalid_grant`) for an invalid or unacceptable subject_token.
 *
 * @see RFC 8693 section 2 (token exchange request and response)
 */
export function tokenExchangeHandler(verifier: AssertionVerifier, issuance: Issuance): GrantHandler {
  return async (ctx) => {
    const subjectToken = requireParam(ctx, 'subject_token');
    const subjectTokenType = requireParam(ctx, 'subject_token_type');
    if (subjectTokenType !== TOKEN_TYPE_JWT) {
      throw new errors.InvalidRequest(`unsupported subject_token_type: only ${TOKEN_TYPE_JWT} is accepted`);
    }
    const requested = optionalParam(ctx, 'requested_token_type');
    if (requested !== undefined && requested !== TOKEN_TYPE_ACCESS_TOKEN) {
      throw new errors.InvalidRequest(
        `unsupported requested_token_type: only ${TOKEN_TYPE_ACCESS_TOKEN} is issued`,
      );
    }
    const audience = requestedAudience(ctx);
    const scope = resolveScope(ctx);
    const { sub } = await verifyOr(errorWith(errors.InvalidRequest), () =>
      verifier.verify(subjectToken, ctx.oidc.client.clientId, 'subject_token'),
    );
    await issueUserTokens(ctx, issuance, {
      accountId: sub,
      scope,
      gty: TOKEN_EXCHANGE_GRANT,
      audience,
      issuedTokenType: TOKEN_TYPE_ACCESS_TOKEN,
      refreshable: false,
    });
  };
}

/** RFC 8693 2.1: `audience` (any string) and `resource` (absolute URI) both name the target; one is kept. */
function requestedAudience(ctx: TokenEndpointGrantContext): string | undefined {
  const resource = optionalParam(ctx, 'resource');
  const audience = optionalParam(ctx, 'audience');
  if (resource !== undefined && !URL.canParse(resource)) {
    throw new errors.InvalidTarget('resource must be an absolute URI');
  }
  if (resource !== undefined && audience !== undefined && resource !== audience) {
    throw new errors.InvalidTarget('only a single target is supported: send audience or resource, not both');
  }
  return resource ?? audience;
}

async function verifyOr(
  reject: (description: string) => Error,
  verify: () => Promise<VerifiedAssertion>,
): Promise<VerifiedAssertion> {
  try {
    return await verify();
  } catch (error) {
    if (error instanceof AssertionRejected) throw reject(error.message);
    if (error instanceof AssertionKeysUnavailable) throw keysUnavailable(error.message);
    throw error;
  }
}

/**
 * The assertion may be fine but cannot be checked right now: invalid_grant would tell the client to give
 * up on it, and a bare 500 would hide the reason. 503 temporarily_unavailable says "retry later" and why.
 */
function keysUnavailable(description: string): Error {
  const error = new errors.TemporarilyUnavailable(description);
  // oidc-provider exposes error details only for 4xx (expose is computed in the constructor), so the
  // status is raised to 503 afterwards and expose stays true.
  error.status = 503;
  error.statusCode = 503;
  return error;
}

/**
 * oidc-provider's InvalidGrant keeps a fixed error_description and files the argument under the non-public
 * error_detail; the tests and gateway operators need the reason, so it is put in error_description.
 */
function errorWith(ErrorClass: new (description: string) => InstanceType<typeof errors.OIDCProviderError>) {
  return (description: string) => {
    const error = new ErrorClass(description);
    error.error_description = description;
    return error;
  };
}

function requireParam(ctx: TokenEndpointGrantContext, name: string): string {
  const value = optionalParam(ctx, name);
  if (value === undefined || value === '') {
    throw new errors.InvalidRequest(`missing required parameter '${name}'`);
  }
  return value;
}

function optionalParam(ctx: TokenEndpointGrantContext, name: string): string | undefined {
  const value = ctx.oidc.params[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Every requested scope must be allowed for the client (RFC 6749 3.3 lets the AS refuse rather than
 * silently narrow). Without a `scope` parameter the client's registered scope is the pre-defined default.
 */
function resolveScope(ctx: TokenEndpointGrantContext): string {
  const allowed = splitScope(ctx.oidc.client.scope);
  const requested = optionalParam(ctx, 'scope');
  if (requested === undefined || requested.trim() === '') return allowed.join(' ');
  const scopes = [...new Set(splitScope(requested))];
  const refused = scopes.filter((scope) => !allowed.includes(scope));
  if (refused.length > 0) {
    throw new errors.InvalidScope(
      `requested scope is not allowed for this client: ${refused.join(' ')}`,
      refused.join(' '),
    );
  }
  return scopes.join(' ');
}

export function splitScope(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter(Boolean);
}

/** Constant-time comparison of two secrets of any length (hashing first equalizes the lengths). */
function safeEqual(actual: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(actual), digest(expected));
}
