import type { IncomingHttpHeaders } from 'node:http';
import type { IssuedToken, TokenBroker } from '../broker.ts';
import { type AuthorizerCredentialFields, NO_AUTHORIZER_FIELDS } from '../config/credential-fields.ts';
import { lookup } from '../config/lookup.ts';
import type { GatewayConfig, ProxyConfig } from '../config/schema.ts';
import { type AuditFacts, auditFacts } from '../deadline.ts';
import { GatewayError, isGatewayError } from '../errors.ts';
import type { ExchangeRequest } from '../oauth/token-exchanger.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { AuthorizedRequest, Caller, CallerPolicy } from '../policy/caller-policy.ts';
import type { IdentityProof } from '../policy/identity-proof.ts';
import { tokenRequest } from '../token-request.ts';
import { callerResponseHeaders, upstreamRequestHeaders } from './forwarded-headers.ts';
import { forwardedQuery } from './forwarded-query.ts';
import { identityHeaders, SUBJECT_HEADER, SUBJECT_TOKEN_HEADER } from './identity-headers.ts';
import { sendUpstream, type UpstreamResponse, type UpstreamTransport } from './upstream-client.ts';
import { parseCallPath, pathAllowed, type UpstreamTarget, upstreamUrl } from './upstream-path.ts';

/** One proxied call as the HTTP layer hands it over: everything raw but the caller it identified. */
export interface CallRequest {
  readonly method: string;
  /** The path as sent (`rawPath`), percent-encoding intact. */
  readonly rawPath: string;
  readonly rawQuery: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer | undefined;
  readonly requestId: string;
  /** Epoch milliseconds by which the answer must be shaped (the Lambda's remaining time, less a margin). */
  readonly deadline: number;
}

/** A call whose path and end-user headers were checked, the caller not yet known. */
interface ParsedCall {
  readonly request: CallRequest;
  readonly call: ReturnType<typeof parseCallPath>;
  readonly named: string | undefined;
  readonly subjectToken: string | undefined;
}

export interface CallResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly cookies: string[];
  readonly body: Buffer;
}

export interface ApiProxyDependencies {
  readonly config: GatewayConfig;
  readonly policy: Pick<CallerPolicy, 'authorize'>;
  /** Verifies `x-subject-token` against the caller's trusted issuer, as the RFC 8693 facade does. */
  readonly identities: Pick<IdentityProof, 'verify'>;
  readonly broker: Pick<TokenBroker, 'getToken'>;
  readonly metrics: GatewayMetrics;
  /** Names a failure for the metrics (the API error code); the GatewayError code by default. */
  readonly classify?: (error: unknown) => string;
  readonly transport?: UpstreamTransport;
  readonly now?: () => number;
  /** Where the deployment's Lambda authorizer reads the caller's credential: never forwarded. */
  readonly authorizerCredentials?: AuthorizerCredentialFields;
}

/**
 * Proxy mode, the use case: a caller's one request reaches the target's API as the end user. The caller
 * (identified by the handler) is checked by the same policy as on /v1/token, once per call, the path is normalised and checked
 * against the target's allow-list, the token comes from the same cache, and the gateway's Authorization
 * replaces the caller's credentials. A 401 from the API replaces that token, at most once per user and
 * target per `reissueAfterSeconds`, and the call is sent once more with the new one; every body is
 * buffered, so every call can be replayed. Nothing reaches the API, and no token is obtained, unless every check passed.
 */
export class ApiProxy {
  private readonly transport: UpstreamTransport;
  private readonly now: () => number;
  private readonly classify: (error: unknown) => string;

  constructor(private readonly deps: ApiProxyDependencies) {
    this.transport = deps.transport ?? sendUpstream;
    this.now = deps.now ?? Date.now;
    this.classify = deps.classify ?? ((error) => (isGatewayError(error) ? error.code : 'internal_error'));
  }

  /**
   * What the call asks for, checked before the caller is identified (as before any other work): its
   * target and path, and the end user, named or to be proven. Part of the request's one audit
   * (lib/audited.ts), like `call`.
   */
  parse(request: CallRequest): ParsedCall {
    const facts = auditFacts();
    const call = parseCallPath(request.rawPath, request.rawQuery);
    facts.target = call.target;
    const { named, token: subjectToken } = identityHeaders(request.headers);
    if (named !== undefined && subjectToken !== undefined) {
      // Which one would be the user? Neither is guessed: a named user beside a proven one is a mistake.
      throw new GatewayError(
        'ERR_REQUEST_INVALID',
        `send the end user in ${SUBJECT_HEADER} or prove them in ${SUBJECT_TOKEN_HEADER}, not both`,
      );
    }
    // The end user's id follows the rule of POST /v1/token's subject (lib/token-request.ts).
    if (subjectToken === undefined && !tokenRequest.shape.subject.safeParse(named).success) {
      throw new GatewayError(
        'ERR_REQUEST_INVALID',
        `send the end user in ${SUBJECT_HEADER} (1-256 printable characters) or an identity token in ${SUBJECT_TOKEN_HEADER}`,
      );
    }
    facts.subject = named;
    return { request, call, named, subjectToken };
  }

  /**
   * The parsed call for the caller the handler identified: what it did (path, status, token retry)
   * goes into the request's audit facts.
   */
  async call(caller: Caller, { request, call, named, subjectToken }: ParsedCall): Promise<CallResponse> {
    const facts = auditFacts();
    const subject =
      subjectToken === undefined ? named! : await this.provenSubject(caller, subjectToken, facts);
    facts.subject = subject;
    const exchangeRequest: ExchangeRequest = {
      target: call.target,
      subject,
      scope: lookup(this.deps.config.targets, call.target)?.proxy?.scope,
      deadline: request.deadline,
    };
    // The call's one policy decision, first: whether a target the caller may not use has proxy mode is
    // none of its business.
    const authorized = this.deps.policy.authorize(
      caller,
      exchangeRequest,
      subjectToken === undefined ? 'named' : 'proven',
    );
    const proxy = this.proxyOf(call.target);
    if (!(proxy.methods as readonly string[]).includes(request.method)) {
      throw new GatewayError(
        'ERR_PROXY_NOT_ALLOWED',
        `method ${request.method} is not allowed on this target`,
      );
    }
    facts.apiRequest = `${request.method} ${call.path}`;
    if (!pathAllowed(call.path, proxy.pathPrefixes)) {
      throw new GatewayError(
        'ERR_PROXY_NOT_ALLOWED',
        'the path is outside what this target lets callers reach',
      );
    }
    if ((request.body?.length ?? 0) > proxy.maxRequestBytes) {
      throw new GatewayError('ERR_PROXY_BODY_TOO_LARGE', `the body exceeds ${proxy.maxRequestBytes} bytes`);
    }
    const authorizer = this.deps.authorizerCredentials ?? NO_AUTHORIZER_FIELDS;
    const upstream = upstreamUrl(proxy.baseUrl, {
      rawPath: call.rawPath,
      query: forwardedQuery(call.query, authorizer),
    });
    const headers = upstreamRequestHeaders(request.headers, proxy.headers, request.requestId, authorizer);
    const send = (token: IssuedToken) =>
      this.send(proxy, request, upstream, {
        ...headers,
        authorization: `${token.tokenType} ${token.accessToken}`,
      });

    const first = await this.token(authorized);
    let response = await send(first);
    facts.apiStatus = response.status;
    if (response.status === 401) {
      // A 401 may mean the token was revoked (or the API's keys rotated), or only that this path refuses
      // this user. So the token is replaced (the cache's caching-client replacement: one flight, one lease
      // across instances), not dropped, and only if it is older than reissueAfterSeconds: at most one
      // exchange per user and target per interval, however many calls are refused, and every other
      // caller of this user keeps a valid token. A younger token is kept and the 401 passed on; so is a
      // second 401, the API's answer about this user.
      const second = await this.token(authorized, proxy.reissueAfterSeconds * 1000).finally(() => {
        // The call's cache outcome is its first token's; the retry is reported as token_retried.
        facts.cache = first.cache;
      });
      if (second.accessToken === first.accessToken) {
        this.deps.metrics.callTokenKept();
      } else {
        facts.tokenRetried = true;
        this.deps.metrics.callRetried();
        response = await send(second);
        facts.apiStatus = response.status;
      }
    }
    const { headers: responseHeaders, cookies } = callerResponseHeaders(
      response.headers as IncomingHttpHeaders,
      request.method === 'HEAD',
    );
    return { status: response.status, headers: responseHeaders, cookies, body: response.body };
  }

  /**
   * One token for the call, counted in `TokenRequests` / `TokenError.<code>` as every token the gateway
   * obtains is (the alarms on those metrics watch proxy mode's tokens too); the call's own audit event
   * and `CallRequests` are `audited`'s.
   */
  private async token(authorized: AuthorizedRequest<ExchangeRequest>, replaceOlderThanMs?: number) {
    try {
      const token = await this.deps.broker.getToken(authorized, { replaceOlderThanMs });
      this.deps.metrics.request('success');
      return token;
    } catch (error) {
      this.deps.metrics.request(this.classify(error));
      throw error;
    }
  }

  /** The `sub` of an identity token verified as the facade verifies a subject_token. */
  private async provenSubject(caller: Caller, token: string, facts: AuditFacts): Promise<string> {
    const identity = await this.deps.identities.verify(caller.id, token);
    if (!identity) {
      throw new GatewayError(
        'ERR_ACCESS_DENIED',
        `caller "${caller.id}" has no trusted identity token issuer: send ${SUBJECT_HEADER}`,
      );
    }
    facts.identityTokenId = identity.tokenId ?? '';
    return identity.subject;
  }

  private proxyOf(target: string): ProxyConfig {
    const config = lookup(this.deps.config.targets, target);
    if (!config) throw new GatewayError('ERR_TARGET_UNKNOWN', `no target named "${target}"`);
    if (!config.proxy) throw new GatewayError('ERR_PROXY_NOT_ENABLED', `target "${target}" fronts no API`);
    return config.proxy;
  }

  /** One attempt, bounded by the target's timeout and whatever is left of the request's time. */
  private async send(
    proxy: ProxyConfig,
    request: CallRequest,
    upstream: UpstreamTarget,
    headers: Record<string, string>,
  ): Promise<UpstreamResponse> {
    const timeoutMs = Math.min(proxy.timeoutMs, request.deadline - this.now());
    if (timeoutMs <= 0) throw new GatewayError('ERR_API_TIMEOUT', 'no time left to call the API');
    const started = this.now();
    try {
      return await this.transport({
        ...upstream,
        method: request.method,
        headers,
        body: request.body,
        timeoutMs,
        maxResponseBytes: proxy.maxResponseBytes,
      });
    } finally {
      this.deps.metrics.apiLatency(this.now() - started);
    }
  }
}
