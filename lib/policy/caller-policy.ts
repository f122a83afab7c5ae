import { createHash, timingSafeEqual } from 'node:crypto';
import { foldSubject, type SubjectRule } from '../assertion/subject.ts';
import type { LinearPattern } from '../config/linear-pattern.ts';
import { lookup } from '../config/lookup.ts';
import type { CallerConfig, CallerGrantConfig, GatewayConfig, SecretReference } from '../config/schema.ts';
import { GatewayError } from '../errors.ts';
import { signsAssertion } from '../oauth/grants.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { TokenRequest } from '../token-request.ts';
import { compileSubjectPattern } from './subject-pattern.ts';

/** What the HTTP layer found on the request; at most one credential is needed to identify a caller. */
export interface CallerCredentials {
  readonly apiKey?: string | undefined;
  readonly mtlsSubject?: string | undefined;
  readonly iamPrincipal?: string | undefined;
  readonly authorizerPrincipal?: string | undefined;
  /** RFC 6749 2.3.1 client credentials (HTTP Basic, or client_id/client_secret in a form body). */
  readonly oauthClient?: OAuthClientCredentials | undefined;
}

export interface OAuthClientCredentials {
  readonly id: string;
  readonly secret: string;
  /**
   * HTTP Basic credentials as sent, before form-url-decoding, when decoding changed them: many clients
   * never encode (RFC 6749 2.3.1 says they should), so both readings are tried.
   */
  readonly raw?: { readonly id: string; readonly secret: string } | undefined;
}

/** A token request the policy allowed this caller: the broker's input (see `CallerPolicy.authorize`). */
export interface AuthorizedRequest<R extends TokenRequest = TokenRequest> {
  readonly caller: Caller;
  readonly request: R;
}

export interface Caller {
  readonly id: string;
  /** How it was identified, for the audit log. */
  readonly via: 'api_key' | 'oauth_client' | 'mtls' | 'iam' | 'authorizer';
}

interface CompiledGrant {
  readonly subjects: LinearPattern;
  readonly scopes: ReadonlySet<string>;
  readonly audiences: ReadonlySet<string>;
  readonly resources: ReadonlySet<string>;
}

/**
 * The security boundary: the gateway can mint an assertion for any user, so every request must come
 * from a configured caller and stay inside that caller's allow-lists. Deny by default.
 */
export interface CallerPolicyOptions {
  /** An API key or OAuth client secret hash held in a secret could not be read; that credential is skipped, the others still work. */
  readonly onApiKeyError?: (caller: string, error: unknown) => void;
}

export class CallerPolicy {
  private readonly grants = new Map<string, Map<string, CompiledGrant>>();
  private readonly inlineHashes: Array<{ caller: string; hash: Buffer }> = [];
  private readonly secretHashes: Array<{ caller: string; reference: SecretReference }> = [];
  private readonly clients: Array<{
    caller: string;
    clientId: string;
    hash?: Buffer;
    reference?: SecretReference;
  }> = [];

  constructor(
    private readonly config: GatewayConfig,
    private readonly secrets: SecretStore,
    private readonly options: CallerPolicyOptions = {},
  ) {
    for (const [id, caller] of Object.entries(config.callers)) {
      const compiled = Object.entries(caller.targets).map(([target, g]) => {
        const folding = lookup(config.targets, target)?.subject.case ?? 'preserve';
        return [target, compile(g, folding)] as const;
      });
      this.grants.set(id, new Map(compiled));
      for (const key of caller.apiKeys) {
        if ('sha256' in key) this.inlineHashes.push({ caller: id, hash: Buffer.from(key.sha256, 'hex') });
        else this.secretHashes.push({ caller: id, reference: key });
      }
      for (const { clientId, secret } of caller.oauth.clients) {
        this.clients.push(
          'sha256' in secret
            ? { caller: id, clientId, hash: Buffer.from(secret.sha256, 'hex') }
            : { caller: id, clientId, reference: secret },
        );
      }
    }
  }

  /**
   * Finds the caller a request comes from. Every credential present is checked: an API key must match
   * (a wrong key is never excused by another credential), and credentials that identify different
   * callers make the request ambiguous, so it is refused. Credentials no caller is configured with
   * (an IAM principal on a route that also takes API keys, say) are ignored.
   */
  async identify(credentials: CallerCredentials): Promise<Caller> {
    const found: Caller[] = [];
    if (credentials.apiKey !== undefined) {
      const id = await this.callerForApiKey(credentials.apiKey);
      if (!id) throw unauthenticated('the API key is not valid');
      found.push({ id, via: 'api_key' });
    }
    // Like an IAM principal on a route that also takes API keys: Basic credentials mean nothing to a
    // gateway without OAuth clients (a Lambda authorizer may have used them).
    if (credentials.oauthClient !== undefined && this.clients.length > 0) {
      const id = await this.callerForOAuthClient(credentials.oauthClient);
      if (!id) throw unauthenticated('the client credentials are not valid');
      found.push({ id, via: 'oauth_client' });
    }
    const matchers: Array<[Caller['via'], string | undefined, (c: CallerConfig, v: string) => boolean]> = [
      ['mtls', credentials.mtlsSubject, (c, v) => c.mtlsSubjects.includes(v)],
      ['iam', credentials.iamPrincipal, (c, v) => c.iamPrincipals.some((pattern) => arnMatches(pattern, v))],
      ['authorizer', credentials.authorizerPrincipal, (c, v) => c.authorizerPrincipals.includes(v)],
    ];
    for (const [via, value, matches] of matchers) {
      if (value === undefined) continue;
      for (const [id, caller] of Object.entries(this.config.callers)) {
        if (matches(caller, value)) found.push({ id, via });
      }
    }
    const first = found[0];
    if (!first) throw unauthenticated('no credential identifies a known caller');
    if (found.some((caller) => caller.id !== first.id)) {
      throw unauthenticated('the credentials identify different callers');
    }
    return first;
  }

  /**
   * Refuses a user the caller only names, when its configuration says it must prove each one with an
   * identity token (`oauth.identityTokens.required`): the name alone is then no evidence.
   */
  authorizeNamedSubject(caller: Caller): void {
    if (lookup(this.config.callers, caller.id)?.oauth.identityTokens?.required === true) {
      throw denied(
        'subject',
        `caller "${caller.id}" must prove the end user with an identity token, not name them`,
      );
    }
  }

  /**
   * The request's one policy decision: checks a token request against the caller's allow-lists (the
   * first violation is reported) and hands back the request as authorized, which is all the broker
   * takes. `evidence: 'named'`: the caller only names the user (a caller required to prove users with an
   * identity token is refused), the default, so that forgetting to say fails closed; `'proven'`: an
   * identity token proved them, or the facade's grant resolution already applied that rule.
   */
  authorize<R extends TokenRequest>(
    caller: Caller,
    request: R,
    evidence: 'named' | 'proven' = 'named',
  ): AuthorizedRequest<R> {
    if (evidence === 'named' && request.subject !== '') this.authorizeNamedSubject(caller);
    const target = lookup(this.config.targets, request.target);
    if (!target) throw new GatewayError('ERR_TARGET_UNKNOWN', `no target named "${request.target}"`);
    const grant = this.grants.get(caller.id)?.get(request.target);
    if (!grant) throw denied('target', `caller "${caller.id}" may not use target "${request.target}"`);
    // Both as sent and as folded into `sub`: a pattern excluding ADMIN must not let `admin` become ADMIN,
    // nor `ß` become SS unchecked.
    const folded = foldSubject(request.subject, target.subject.case);
    if (request.subject === '') {
      // An application token: only for a caller allowed to ask for one, from a grant with no user.
      const allowed = lookup(this.config.callers, caller.id)?.oauth.applicationTokens === true;
      if (!allowed || signsAssertion(target.grant)) {
        throw denied('subject', `caller "${caller.id}" must name a subject on "${request.target}"`);
      }
    } else if (!grant.subjects.matches(request.subject) || !grant.subjects.matches(folded)) {
      const message = `caller "${caller.id}" may not obtain tokens for this subject on "${request.target}"`;
      throw denied('subject', message);
    }
    const defaults = new Set(splitScope(target.scope));
    const refused = splitScope(request.scope).filter((s) => !grant.scopes.has(s) && !defaults.has(s));
    if (refused.length > 0) throw denied('scope', `scope not allowed: ${refused.join(' ')}`);
    if (request.audience !== undefined && !grant.audiences.has(request.audience)) {
      throw denied('audience', 'audience not allowed');
    }
    if (request.resource !== undefined && !grant.resources.has(request.resource)) {
      throw denied('resource', 'resource not allowed');
    }
    return { caller, request };
  }

  /**
   * Checks the scope the authorization server actually granted (or that a cached token carries): a
   * server may add its own defaults, above all when no scope was asked for, and a cached token may have
   * been obtained by another caller. Nothing outside the caller's scopes and the target's default
   * scope is handed out.
   */
  authorizeGrantedScope(caller: Caller, request: TokenRequest, granted: string): void {
    const extra = this.scopeBeyondGrant(caller, request, granted);
    if (extra.length > 0)
      throw denied('granted_scope', `the authorization server granted scope not allowed: ${extra.join(' ')}`);
  }

  /** `authorizeGrantedScope` as a predicate: whether a token with this granted scope may be kept. */
  allowsGrantedScope(caller: Caller, request: TokenRequest, granted: string): boolean {
    return this.scopeBeyondGrant(caller, request, granted).length === 0;
  }

  private scopeBeyondGrant(caller: Caller, request: TokenRequest, granted: string): string[] {
    const target = lookup(this.config.targets, request.target);
    const grant = this.grants.get(caller.id)?.get(request.target);
    const defaults = new Set(splitScope(target?.scope));
    return splitScope(granted).filter((s) => !grant?.scopes.has(s) && !defaults.has(s));
  }

  /**
   * Compares the key's SHA-256 with the configured hashes in constant time, and always with all of a
   * kind, so neither timing nor position reveals how close a guess was. Inline hashes first: a caller
   * whose hash is in the configuration never waits on Secrets Manager.
   */
  private async callerForApiKey(apiKey: string): Promise<string | undefined> {
    const presented = createHash('sha256').update(apiKey, 'utf8').digest();
    const inline = matchingCaller(presented, this.inlineHashes);
    if (inline !== undefined || this.secretHashes.length === 0) return inline;
    const { hashes, unavailable } = await this.secretHashValues();
    const match = matchingCaller(presented, hashes);
    // Unmatched while some hashes could not be read: the key may be one of those, so the answer is
    // "try again" (503), not "wrong key" (401), which a client might take as a reason to discard its key.
    if (match === undefined && unavailable) throw unavailable;
    return match;
  }

  /**
   * Finds the caller whose OAuth client this is: the id must match and the secret's SHA-256 equal the
   * configured one, compared in constant time against every client's hash (both readings of HTTP Basic
   * credentials, decoded and raw). A hash held in a secret that cannot be read makes an unmatched
   * request "try again" (503), as for API keys.
   */
  private async callerForOAuthClient(presented: OAuthClientCredentials): Promise<string | undefined> {
    const readings = [presented, ...(presented.raw ? [presented.raw] : [])].map((reading) => ({
      id: reading.id,
      hash: sha256(reading.secret),
    }));
    let unavailable: unknown;
    const resolved = await Promise.all(
      this.clients.map(async (client) => {
        if (client.hash) return { ...client, hash: client.hash };
        try {
          const hex = (await this.secrets.resolve(client.reference!)).trim().toLowerCase();
          if (/^[0-9a-f]{64}$/.test(hex)) return { ...client, hash: Buffer.from(hex, 'hex') };
          throw new GatewayError(
            'ERR_CONFIG_INVALID',
            `a client secret hash of caller "${client.caller}" is not a SHA-256`,
          );
        } catch (error) {
          this.options.onApiKeyError?.(client.caller, error);
          if (UNREADABLE.has((error as GatewayError).code)) unavailable ??= error;
          return undefined;
        }
      }),
    );
    let match: string | undefined;
    for (const client of resolved) {
      if (!client) continue;
      for (const reading of readings) {
        const equal = timingSafeEqual(reading.hash, client.hash);
        if (equal && reading.id === client.clientId && match === undefined) match = client.caller;
      }
    }
    if (match === undefined && unavailable) throw unavailable;
    return match;
  }

  /**
   * The hashes held in secrets, resolved through the secret store (it caches them for
   * `secrets.cacheTtlSeconds`, so a revoked key stops working after that, and serves the last value read
   * through an outage for a bounded time, like any secret). A secret that cannot be read only disables
   * its own key.
   */
  private async secretHashValues(): Promise<{
    hashes: Array<{ caller: string; hash: Buffer }>;
    unavailable?: unknown;
  }> {
    const resolved = await Promise.allSettled(
      this.secretHashes.map(async ({ caller, reference }) => {
        const hex = (await this.secrets.resolve(reference)).trim().toLowerCase();
        if (!/^[0-9a-f]{64}$/.test(hex)) {
          throw new GatewayError(
            'ERR_CONFIG_INVALID',
            `an API key secret of caller "${caller}" is not a SHA-256`,
          );
        }
        return { caller, hash: Buffer.from(hex, 'hex') };
      }),
    );
    const hashes: Array<{ caller: string; hash: Buffer }> = [];
    let unavailable: unknown;
    resolved.forEach((result, index) => {
      if (result.status === 'fulfilled') {
        hashes.push(result.value);
        return;
      }
      this.options.onApiKeyError?.(this.secretHashes[index]!.caller, result.reason);
      if (UNREADABLE.has((result.reason as GatewayError).code)) unavailable ??= result.reason;
    });
    return { hashes, unavailable };
  }
}

/** SHA-256 of a client secret or API key, as configured. */
function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Why a key secret could not be read that says nothing about the key: Secrets Manager down (503, retry)
 * or no AWS credentials at all (an operator must fix it). Either way "wrong key" (401) would be a lie.
 */
const UNREADABLE = new Set<GatewayError['code']>(['ERR_SECRET_UNAVAILABLE', 'ERR_AWS_UNCONFIGURED']);

/**
 * The caller whose hash the key's is. A key two callers have (possible only through secrets: the
 * configuration refuses it inline) identifies neither: picking one would depend on the configuration's order.
 */
function matchingCaller(
  presented: Buffer,
  hashes: ReadonlyArray<{ caller: string; hash: Buffer }>,
): string | undefined {
  const matches = new Set<string>();
  for (const { caller, hash } of hashes) {
    if (timingSafeEqual(presented, hash)) matches.add(caller);
  }
  if (matches.size > 1) throw unauthenticated('the API key is configured for more than one caller');
  return [...matches][0];
}

export function splitScope(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter((s) => s.length > 0);
}

/** The hash to put in the configuration for an API key. */
export function apiKeyHash(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/** A caller's grant on one target, its subject pattern compiled for the target's case folding. */
function compile(grant: CallerGrantConfig, folding: SubjectRule['case']): CompiledGrant {
  return {
    subjects: compileSubjectPattern(grant.subjects, folding),
    scopes: new Set(grant.scopes),
    audiences: new Set(grant.audiences),
    resources: new Set(grant.resources),
  };
}

function arnMatches(pattern: string, arn: string): boolean {
  return pattern.endsWith('*') ? arn.startsWith(pattern.slice(0, -1)) : arn === pattern;
}

function unauthenticated(message: string): GatewayError {
  return new GatewayError('ERR_CALLER_UNAUTHENTICATED', message);
}

/** Which allow-list refused a request: the RFC 6749 facade answers each with its own OAuth error. */
export type PolicyRule = 'target' | 'subject' | 'scope' | 'audience' | 'resource' | 'granted_scope';

/** `ERR_ACCESS_DENIED`, naming the rule that refused. */
export class PolicyRefusal extends GatewayError {
  override readonly name = 'PolicyRefusal';

  constructor(
    readonly rule: PolicyRule,
    message: string,
  ) {
    super('ERR_ACCESS_DENIED', message);
  }
}

function denied(rule: PolicyRule, message: string): PolicyRefusal {
  return new PolicyRefusal(rule, message);
}
