import type * as oauth from 'oauth4webapi';
import type { Admission, LaneLimits } from '../admission/admission.ts';
import { announcedLimits } from '../admission/rate-limit-headers.ts';
import { buildAssertion, type SignedAssertion } from '../assertion/build-assertion.ts';
import { mapSubject } from '../assertion/subject.ts';
import { cacheKey } from '../cache/cache-key.ts';
import { lookup } from '../config/lookup.ts';
import type { GatewayConfig, TargetConfig } from '../config/schema.ts';
import { transportAllowed } from '../config/transport.ts';
import { auditFacts } from '../deadline.ts';
import { GatewayError } from '../errors.ts';
import { readOnce } from '../secrets/read-once.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { SigningKeyRing } from '../signing/key-ring.ts';
import type { Signer } from '../signing/signer.ts';
import type { TokenRequest } from '../token-request.ts';
import { clientAuthentication } from './client-authentication.ts';
import { AuthorizationServerDiscovery } from './discovery.ts';
import { GRANT_TYPE_URIS, grantParameters, signsAssertion } from './grants.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.ts';
import {
  type AttemptGate,
  requestToken,
  type TokenEndpointSettings,
  type TokenResponse,
} from './token-endpoint.ts';

/** The domain token request plus what the exchange needs to know about time. */
export interface ExchangeRequest extends TokenRequest {
  /**
   * Epoch milliseconds by which the caller needs an answer (the Lambda's remaining time, less a margin):
   * no attempt or retry starts that could not finish by then.
   */
  readonly deadline?: number | undefined;
}

/** What a token is issued for; two requests with equal identities may share a token. */
export interface TokenIdentity {
  readonly target: string;
  readonly clientId: string;
  readonly grant: string;
  /** The mapped `sub`; empty for grants that do not act for a user. */
  readonly subject: string;
  readonly scope: string | undefined;
  readonly audience: string | undefined;
  readonly resource: string | undefined;
}

export interface ExchangeResult {
  readonly token: TokenResponse;
  /** The `sub` the assertion carried (jwt-bearer, token-exchange). */
  readonly mappedSubject?: string | undefined;
  /** Facts about the assertion of the attempt that succeeded, for the audit log; never the JWT itself. */
  readonly assertion?: { readonly jti: string; readonly aud: string; readonly exp: number } | undefined;
}

export interface TokenExchangerDependencies {
  readonly config: GatewayConfig;
  readonly keyRing: SigningKeyRing;
  readonly secrets: SecretStore;
  readonly discovery?: AuthorizationServerDiscovery;
  readonly fetch?: typeof fetch;
  readonly retry?: Partial<Omit<RetryPolicy, 'maxRetries'>>;
  /** Each target's rate, concurrency and back-off (lib/admission); without it every request goes. */
  readonly admission?: Admission | undefined;
  /** Counts the authorization server's 429 answers (infra/alarms.yml alarms on them). */
  readonly onThrottled?: ((target: string) => void) | undefined;
}

interface PreparedTarget {
  readonly id: string;
  readonly config: TargetConfig;
  readonly limits: LaneLimits;
  readonly client: oauth.Client;
  /** Client authentication reading its secret through a request's own store (see `readOnce`). */
  readonly clientAuthentication: (secrets: SecretStore) => oauth.ClientAuth;
  readonly settings: TokenEndpointSettings;
  /** Static metadata, or discovery's cached answer. */
  readonly authorizationServer: () => Promise<oauth.AuthorizationServer>;
}

/**
 * The exchange itself: map the subject, sign a fresh assertion, and trade it at the target's token
 * endpoint. Policy and caching wrap this; it knows neither.
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.1
 */
export class TokenExchanger {
  private readonly targets = new Map<string, PreparedTarget>();
  private readonly discovery: AuthorizationServerDiscovery;

  constructor(private readonly deps: TokenExchangerDependencies) {
    this.discovery = deps.discovery ?? new AuthorizationServerDiscovery();
  }

  /**
   * What a token for this request would be issued for (target, client, grant, mapped subject, scope,
   * audience, resource): the cache key's parts. Validates the target and subject without signing.
   */
  cacheIdentity(request: ExchangeRequest): TokenIdentity {
    const { config } = this.prepare(request.target);
    const actsForUser = signsAssertion(config.grant);
    return {
      target: request.target,
      clientId: config.clientId,
      grant: config.grant,
      subject: actsForUser ? mapSubject(request.subject, config.subject) : '',
      scope: request.scope ?? config.scope,
      audience: request.audience,
      resource: request.resource,
    };
  }

  /**
   * Renews a token with its refresh token (RFC 6749 6), sparing a KMS signature. The caller falls back
   * to `exchange` if the server refuses.
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
   */
  async refresh(
    request: ExchangeRequest,
    previous: { readonly refreshToken: string; readonly scope: string },
  ): Promise<ExchangeResult> {
    const refreshToken = previous.refreshToken;
    const target = this.prepare(request.target);
    const as = await target.authorizationServer();
    const secrets = readOnce(this.deps.secrets);
    const token = await requestToken(
      {
        as,
        client: target.client,
        clientAuthentication: target.clientAuthentication(secrets),
        grantType: 'refresh_token',
        gate: this.gate(target, request),
        // The same scope, audience, resource and static parameters, so the renewed token still matches
        // the cache key it is stored under.
        parameters: async () => {
          await readClientSecret(target.config, secrets);
          return { ...requestParameters(target.config, request), refresh_token: refreshToken };
        },
      },
      target.settings,
      request.deadline,
    );
    return {
      token: {
        ...token,
        // RFC 6749 6: a refresh response without `scope` keeps the scope originally granted, which may
        // be more than was asked for; the caller policy checks it, so it must not be lost.
        scope: token.scope ?? previous.scope,
        refreshToken: token.refreshToken ?? refreshToken,
      },
    };
  }

  async exchange(request: ExchangeRequest): Promise<ExchangeResult> {
    const target = this.prepare(request.target);
    const { config } = target;
    const as = await target.authorizationServer();
    const signs = signsAssertion(config.grant);
    const mappedSubject = signs ? mapSubject(request.subject, config.subject) : undefined;
    let lastAssertion: SignedAssertion | undefined;
    const audience = signs ? assertionAudience(config, as) : '';
    // Read once for the whole request, its retry and its client authentication included.
    const secrets = readOnce(this.deps.secrets);

    const parameters = async (): Promise<Record<string, string>> => {
      await readClientSecret(config, secrets);
      const material: { assertion?: string; username?: string; password?: string } = {};
      if (mappedSubject !== undefined) {
        lastAssertion = await this.signAssertion(config, mappedSubject, audience);
        material.assertion = lastAssertion.jwt;
        // The request's audit names what was sent, refused or not, to match it with the server's logs.
        const facts = auditFacts();
        facts.mappedSubject = mappedSubject;
        facts.assertion = { jti: lastAssertion.jti, aud: audience };
      } else if (config.grant === 'password' && config.password) {
        material.username = await secrets.resolve(config.password.username);
        material.password = await secrets.resolve(config.password.password);
      }
      return { ...requestParameters(config, request), ...grantParameters(config.grant, material) };
    };

    const sentAssertion = () =>
      lastAssertion ? { jti: lastAssertion.jti, aud: audience, exp: lastAssertion.exp } : undefined;
    const token = await requestToken(
      {
        as,
        client: target.client,
        clientAuthentication: target.clientAuthentication(secrets),
        grantType: GRANT_TYPE_URIS[config.grant],
        parameters,
        gate: this.gate(target, request),
      },
      target.settings,
      request.deadline,
    );
    const assertion = sentAssertion();
    if (token.issuedTokenType && NOT_ACCESS_TOKENS.has(token.issuedTokenType)) {
      // RFC 8693 2.2.1: the server says what it issued; these are not credentials for an API.
      throw new GatewayError('ERR_AS_RESPONSE_INVALID', `token exchange issued a ${token.issuedTokenType}`);
    }
    return { token: grantedAsRequested(token, request, config), mappedSubject, assertion };
  }

  /**
   * The target's admission for one request: its turn is found again by the request's cache key when a
   * refused caller comes back (docs/ARCHITECTURE.md, "Admission").
   */
  private gate(target: PreparedTarget, request: ExchangeRequest): AttemptGate | undefined {
    const admission = this.deps.admission;
    if (!admission) return undefined;
    const lane = admissionLane(target.id);
    const key = cacheKey(this.cacheIdentity(request));
    const settings = target.config.admission;
    return {
      enter: (deadline) =>
        admission.enter(lane, target.limits, {
          deadline,
          // A turn too late for an attempt to start is reserved for the caller's next try instead.
          minimumMs: MIN_ADMITTED_MS,
          key,
          refuse: (retryAfterSeconds, why) =>
            new GatewayError(
              'ERR_AS_BUSY',
              `no token request to target "${target.id}" now (${why}): retry after ${retryAfterSeconds} s`,
              { retryAfterSeconds },
            ),
        }),
      observe: async (status, headers) => {
        const now = Date.now();
        const announced = announcedLimits(status, headers, now);
        if (status === 429) this.deps.onThrottled?.(target.id);
        const backoffUntil =
          announced.backoffUntil ??
          (status === 429 ? now + settings.throttledBackoffSeconds * 1000 : undefined);
        await admission.observe(lane, { ...announced, backoffUntil });
        return backoffUntil;
      },
    };
  }

  private signAssertion(config: TargetConfig, subject: string, audience: string): Promise<SignedAssertion> {
    const settings = config.assertion;
    return buildAssertion(
      this.assertionSigner(config),
      {
        issuer: settings.issuer ?? config.clientId,
        subject,
        audience,
        lifetimeSeconds: settings.lifetimeSeconds,
        notBefore: settings.notBefore,
        clockSkewSeconds: settings.clockSkewSeconds,
        extraClaims: settings.claims,
      },
      { typ: settings.type ?? undefined, includeX5tS256: settings.includeX5tS256 },
    );
  }

  private assertionSigner(config: TargetConfig): Signer {
    return this.deps.keyRing.signer(config.assertion.signingKey ?? this.onlyActiveKey());
  }

  /**
   * Whether a target's authorization server answers, for the readiness probe: its metadata (configured,
   * or discovered, a real metadata request until it once succeeds) and any HTTP answer below 500 from its
   * token endpoint to a GET, which asks for no token. Bounded by `signal` and the target's timeout.
   */
  async probe(target: string, signal: AbortSignal): Promise<void> {
    const { settings, authorizationServer } = this.prepare(target);
    const endpoint = (await authorizationServer()).token_endpoint ?? '';
    if (!endpoint.startsWith('https:') && !transportAllowed(endpoint, settings.allowInsecureHttp)) {
      throw new GatewayError('ERR_AS_UNAVAILABLE', 'the token endpoint is not an https URL');
    }
    const response = await (settings.fetch ?? fetch)(endpoint, {
      method: 'GET',
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutMs)]),
    });
    await response.body?.cancel();
    if (response.status >= 500) {
      throw new GatewayError('ERR_AS_UNAVAILABLE', `the token endpoint answered ${response.status}`);
    }
  }

  private onlyActiveKey(): string {
    const active = Object.entries(this.deps.config.signingKeys).filter(([, key]) => !key.retired);
    // The configuration schema guarantees exactly one when a target names none.
    return active[0]?.[0] ?? '';
  }

  private prepare(id: string): PreparedTarget {
    const existing = this.targets.get(id);
    if (existing) return existing;
    const config = lookup(this.deps.config.targets, id);
    if (!config) throw new GatewayError('ERR_TARGET_UNKNOWN', `no target named "${id}" is configured`);
    const settings: TokenEndpointSettings = {
      timeoutMs: config.timeoutMs,
      allowInsecureHttp: config.allowInsecureHttp,
      fetch: this.deps.fetch,
      retry: { ...DEFAULT_RETRY_POLICY, ...this.deps.retry, maxRetries: config.maxRetries },
    };
    const auth = config.clientAuthentication;
    const authSigner = (): Signer =>
      auth.method === 'private_key_jwt' && auth.signingKey
        ? this.deps.keyRing.signer(auth.signingKey)
        : this.assertionSigner(config);
    const admission = config.admission;
    const prepared: PreparedTarget = {
      id,
      config,
      limits: {
        requestsPerSecond: admission.requestsPerSecond,
        maxConcurrent: admission.maxConcurrent,
        maxWaitMs: admission.maxWaitMs,
        queueMs: admission.queueSeconds * 1000,
        graceMs: admission.turnGraceSeconds * 1000,
      },
      client: { client_id: config.clientId },
      clientAuthentication: (secrets) => clientAuthentication(auth, secrets, authSigner),
      settings,
      authorizationServer: this.authorizationServer(config, settings),
    };
    this.targets.set(id, prepared);
    return prepared;
  }

  private authorizationServer(config: TargetConfig, settings: TokenEndpointSettings) {
    const { tokenEndpoint, issuer } = config;
    if (tokenEndpoint) {
      // A configured token endpoint needs no discovery; the issuer (if any) is used for `aud` only.
      const metadata: oauth.AuthorizationServer = {
        issuer: issuer ?? tokenEndpoint,
        token_endpoint: tokenEndpoint,
      };
      return () => Promise.resolve(metadata);
    }
    return () => this.discovery.discover(issuer ?? '', settings);
  }
}

/**
 * Reads the client secret before an attempt's timeout starts: client authentication uses it again inside
 * the attempt, where the request's `readOnce` store answers at once. A slow or failing Secrets Manager so
 * ends the request as `secrets_unavailable`, and never eats the authorization server's time.
 */
async function readClientSecret(config: TargetConfig, secrets: SecretStore): Promise<void> {
  const auth = config.clientAuthentication;
  if ('secret' in auth && auth.secret) await secrets.resolve(auth.secret);
}

/** The least time an admitted token request should have left (the attempt's own floor is 100 ms). */
const MIN_ADMITTED_MS = 250;

/** The admission lane of a target's authorization server (GET /v1/ready reports it by target). */
export function admissionLane(target: string): string {
  return `as:${target}`;
}

function assertionAudience(config: TargetConfig, as: oauth.AuthorizationServer): string {
  const audience = config.assertion.audience;
  if (typeof audience === 'object') return audience.value;
  if (audience === 'issuer') return as.issuer;
  return as.token_endpoint ?? as.issuer;
}

const NOT_ACCESS_TOKENS = new Set([
  'urn:ietf:params:oauth:token-type:refresh_token',
  'urn:ietf:params:oauth:token-type:id_token',
]);

/** RFC 6749 5.1: a response without `scope` granted exactly the scope requested. */
function grantedAsRequested(
  token: TokenResponse,
  request: ExchangeRequest,
  config: TargetConfig,
): TokenResponse {
  return token.scope === undefined ? { ...token, scope: request.scope ?? config.scope } : token;
}

/** Static per-target parameters, then the caller's (already policy-checked) scope, audience and resource. */
function requestParameters(config: TargetConfig, request: ExchangeRequest): Record<string, string> {
  const scope = request.scope ?? config.scope;
  return {
    ...config.parameters,
    ...(scope ? { scope } : {}),
    ...(request.audience ? { audience: request.audience } : {}),
    ...(request.resource ? { resource: request.resource } : {}),
  };
}
