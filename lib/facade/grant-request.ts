import { createHash, timingSafeEqual } from 'node:crypto';
import * as z from 'zod/mini';
import type { ClientCaching } from '../cache/client-caching.ts';
import { lookup } from '../config/lookup.ts';
import type { CallerOAuthConfig, GatewayConfig } from '../config/schema.ts';
import { GatewayError } from '../errors.ts';
import type { ExchangeRequest } from '../oauth/token-exchanger.ts';
import type { Caller } from '../policy/caller-policy.ts';
import type { IdentityProof } from '../policy/identity-proof.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import { type TokenRequest, tokenRequest } from '../token-request.ts';

const PASSWORD_GRANT = 'password';
const CLIENT_CREDENTIALS_GRANT = 'client_credentials';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** The parameters each grant may carry (client_id and client_secret are the HTTP layer's). */
const GRANT_PARAMETERS: Readonly<Record<string, readonly string[]>> = {
  [PASSWORD_GRANT]: ['username', 'password', 'scope', 'audience', 'resource'],
  [CLIENT_CREDENTIALS_GRANT]: ['subject', 'scope', 'audience', 'resource'],
  [TOKEN_EXCHANGE_GRANT]: [
    'subject_token',
    'subject_token_type',
    'requested_token_type',
    'scope',
    'audience',
    'resource',
  ],
};

/** The RFC 6749 5.2 (and RFC 8693 2.2.2) error a refused grant request is answered with. */
export type GrantErrorCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type';

/** A grant request the facade refuses before the policy sees it; `oauthError` is its RFC 6749 answer. */
export class GrantRequestError extends GatewayError {
  override readonly name = 'GrantRequestError';

  constructor(
    readonly oauthError: GrantErrorCode,
    message: string,
  ) {
    const code =
      oauthError === 'invalid_request' || oauthError === 'unsupported_grant_type'
        ? 'ERR_REQUEST_INVALID'
        : 'ERR_ACCESS_DENIED';
    super(code, message);
  }
}

export interface ResolvedGrant {
  readonly request: ExchangeRequest;
  /** Set for caching clients: replace a cached token obtained at least this long ago (the 401 retry). */
  readonly replaceOlderThanMs?: number | undefined;
  /** Which tokens the caching client keeps: only those are replaced. */
  readonly clientCaches?: ClientCaching | undefined;
}

/**
 * Turns the form parameters of an RFC 6749 token request into the domain token request, per caller:
 * `password` names the user in `username` (the password is checked only if the caller's config says
 * so, and goes nowhere), `client_credentials` in a `subject` parameter (or asks for an application
 * token), `token-exchange` proves the user with a JWT the mainframe signed. The caller policy then
 * checks the result exactly as for `POST /v1/token`.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4.2
 * @see https://www.rfc-editor.org/rfc/rfc8693#section-2.1
 */
export class GrantRequestResolver {
  constructor(
    private readonly config: GatewayConfig,
    private readonly secrets: SecretStore,
    private readonly identities: IdentityProof,
  ) {}

  async resolve(
    caller: Caller,
    target: string,
    params: ReadonlyMap<string, string>,
    deadline?: number,
  ): Promise<ResolvedGrant> {
    const settings = lookup(this.config.callers, caller.id)?.oauth;
    if (!settings) throw new GrantRequestError('unauthorized_client', 'the caller has no OAuth settings');
    const grantType = params.get('grant_type');
    if (grantType === undefined) throw new GrantRequestError('invalid_request', 'grant_type is required');
    const allowed = GRANT_PARAMETERS[grantType];
    if (!allowed) {
      throw new GrantRequestError(
        'unsupported_grant_type',
        'use password, client_credentials or token-exchange',
      );
    }
    const unknown = [...params.keys()].filter((name) => name !== 'grant_type' && !allowed.includes(name));
    if (unknown.length > 0) {
      // JSON-quoted: a name may hold anything, and it ends up in the answer and the log.
      const names = unknown.map((name) => JSON.stringify(name)).join(', ');
      throw new GrantRequestError('invalid_request', `parameter(s) not allowed here: ${names}`);
    }
    const subject = await this.subject(caller, settings, grantType, params);
    const request = validTokenRequest({
      target,
      subject,
      scope: params.get('scope'),
      audience: params.get('audience'),
      resource: params.get('resource'),
    });
    return {
      request: { ...request, deadline },
      replaceOlderThanMs: settings.cachingClient ? settings.reissueAfterSeconds * 1000 : undefined,
      clientCaches: settings.clientCaches,
    };
  }

  private async subject(
    caller: Caller,
    settings: CallerOAuthConfig,
    grantType: string,
    params: ReadonlyMap<string, string>,
  ): Promise<string> {
    if (grantType !== TOKEN_EXCHANGE_GRANT && settings.identityTokens?.required) {
      // Naming a user is what this caller may not do; an application token names no one.
      const named = grantType === PASSWORD_GRANT || params.get('subject') !== undefined;
      if (named) {
        throw new GrantRequestError(
          'unauthorized_client',
          `caller "${caller.id}" must prove the end user: use grant_type=${TOKEN_EXCHANGE_GRANT}`,
        );
      }
    }
    if (grantType === PASSWORD_GRANT) {
      const username = params.get('username');
      const password = params.get('password');
      if (username === undefined || password === undefined) {
        throw new GrantRequestError('invalid_request', 'username and password are required');
      }
      await this.checkPassword(settings, password);
      return username;
    }
    if (grantType === CLIENT_CREDENTIALS_GRANT) {
      const subject = params.get('subject');
      if (subject !== undefined) return subject;
      if (!settings.applicationTokens) {
        throw new GrantRequestError(
          'invalid_request',
          'subject is required (BAQR-OAUTH-CUSTOM-PARMS subject=...)',
        );
      }
      return '';
    }
    return this.verifiedSubject(caller, settings, params);
  }

  /**
   * `ignore`: never read, compared or kept. A required value: compared by SHA-256 in constant time. It is
   * not the user's password and must not be.
   */
  private async checkPassword(settings: CallerOAuthConfig, password: string): Promise<void> {
    if (settings.password === 'ignore') return;
    const expected = await this.secrets.resolve(settings.password.required);
    const equal = timingSafeEqual(sha256(password), sha256(expected));
    if (!equal) throw new GrantRequestError('invalid_grant', 'the password is not the configured value');
  }

  private async verifiedSubject(
    caller: Caller,
    settings: CallerOAuthConfig,
    params: ReadonlyMap<string, string>,
  ): Promise<string> {
    const trust = settings.identityTokens;
    if (!trust) {
      throw new GrantRequestError(
        'unauthorized_client',
        `caller "${caller.id}" has no trusted identity token issuer`,
      );
    }
    const token = params.get('subject_token');
    const type = params.get('subject_token_type');
    if (token === undefined || type === undefined) {
      throw new GrantRequestError('invalid_request', 'subject_token and subject_token_type are required');
    }
    if (type !== JWT_TOKEN_TYPE && type !== ID_TOKEN_TYPE) {
      throw new GrantRequestError('invalid_request', `subject_token_type must be ${JWT_TOKEN_TYPE}`);
    }
    const requested = params.get('requested_token_type');
    if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
      throw new GrantRequestError('invalid_request', `requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    const identity = await this.identities.verify(caller.id, token);
    if (!identity) {
      throw new GrantRequestError(
        'unauthorized_client',
        `caller "${caller.id}" has no trusted identity token issuer`,
      );
    }
    return identity.subject;
  }
}

/** The same limits as the JSON API (lengths, printable characters), reported as invalid_request. */
function validTokenRequest(candidate: Record<string, string | undefined>): TokenRequest {
  const defined = Object.fromEntries(Object.entries(candidate).filter(([, value]) => value !== undefined));
  // An application token has no subject; the shared schema requires one, so it is checked without it.
  const application = defined.subject === '';
  const result = (application ? z.omit(tokenRequest, { subject: true }) : tokenRequest).safeParse(defined);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join('.') || 'request';
    const reason =
      issue?.code === 'invalid_format' ? 'contains characters that are not allowed' : issue?.message;
    throw new GrantRequestError('invalid_request', `${field}: ${reason ?? 'invalid'}`);
  }
  return { ...result.data, subject: application ? '' : (result.data as TokenRequest).subject };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
