import { z } from 'zod';
import { signsAssertion } from '../oauth/grants.ts';
import { JWS_ALGORITHMS } from '../signing/algorithms.ts';
import { clientIdIssues } from './client-id-rules.ts';
import { linearPatternProblem } from './linear-pattern.ts';
import { lookup } from './lookup.ts';
import { GATEWAY_OWNED_HEADERS, PROXY_BODY_LIMIT_BYTES, PROXY_METHODS } from './proxy-limits.ts';
import { transportAllowed } from './transport.ts';

/**
 * The configuration, defined once: validated at start by `loadConfig`, exported as JSON Schema for
 * editors (`npm run schema:config`), and documented in docs/CONFIGURATION.md.
 */

const identifier = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use 1-64 letters, digits, ".", "_" or "-"');

/** A whole number of seconds, at most an hour: the bound most of the timing settings share. */
function secondsUpToAnHour(min: 0 | 1, fallback: number) {
  return z.number().int().min(min).max(3600).default(fallback);
}

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

/**
 * Where a secret lives. Exactly one member: Secrets Manager (optionally one field of a JSON secret),
 * an environment variable, or a literal value (development only, and warned about).
 */
const secretReference = z
  .object({
    secretsManager: z
      .object({
        secretId: z.string().min(1).describe('Secret name or ARN.'),
        field: z
          .string()
          .min(1)
          .optional()
          .describe('Field of a JSON secret; omit for a plain string secret.'),
      })
      .strict()
      .optional(),
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
      .optional(),
    value: z
      .string()
      .min(1)
      .optional()
      .describe('A literal secret: allowed only with environment: development.'),
  })
  .strict()
  .refine((ref) => [ref.secretsManager, ref.env, ref.value].filter((v) => v !== undefined).length === 1, {
    error: 'set exactly one of secretsManager, env, value',
  })
  .describe('A reference to a secret; never the secret itself outside development.');

const signingKeyCommon = {
  kid: z.string().min(1).max(128).optional().describe('Overrides the default kid (RFC 7638 thumbprint).'),
  certificateFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      'PEM certificate of the key, published as x5t#S256. A relative path is relative to the configuration file; npm run build bundles it.',
    ),
  certificate: secretReference
    .optional()
    .describe('Or the PEM certificate from Secrets Manager (or an environment variable).'),
  retired: z.boolean().default(false).describe('Published in the JWKS, never used to sign.'),
};

export const kmsSigningKey = z
  .object({
    type: z.literal('kms'),
    keyId: z.string().min(1).describe('KMS key id, key ARN, alias name (alias/...) or alias ARN.'),
    algorithm: z.enum(JWS_ALGORITHMS).optional().describe('RSA keys: RS* or PS* (default RS256).'),
    signsPerSecond: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(50)
      .describe(
        'KMS Sign calls per second with this key, across all instances (KMS quotas are per account and region: stay below yours).',
      ),
    ...signingKeyCommon,
  })
  .strict();

const localSigningKey = z
  .object({
    type: z.literal('local'),
    path: z.string().min(1).describe('Private key file: JWK (JSON) or PEM.'),
    generate: z.boolean().default(false).describe('Create the key file when it does not exist.'),
    algorithm: z.enum(JWS_ALGORITHMS).optional().describe('Generated keys: default ES256.'),
    ...signingKeyCommon,
  })
  .strict();

const signingKey = z.discriminatedUnion('type', [kmsSigningKey, localSigningKey]);

const clientAuthentication = z.discriminatedUnion('method', [
  z.object({ method: z.literal('none') }).strict(),
  z
    .object({
      method: z.literal('client_secret_basic'),
      secret: secretReference,
      encoding: z
        .enum(['form', 'raw'])
        .default('form')
        .describe(
          'form: form-urlencode id and secret (RFC 6749 2.3.1; unreserved characters never escaped); raw: send them as they are, for servers that do not decode.',
        ),
    })
    .strict(),
  z.object({ method: z.literal('client_secret_post'), secret: secretReference }).strict(),
  z
    .object({
      method: z.literal('private_key_jwt'),
      signingKey: identifier.optional().describe('Default: the target assertion signing key.'),
      audience: z
        .enum(['issuer', 'token_endpoint'])
        .default('issuer')
        .describe('issuer per draft RFC 7523bis; token_endpoint for older servers.'),
      explicitType: z.boolean().default(false).describe('Send typ: client-authentication+jwt (RFC 7523bis).'),
    })
    .strict(),
]);

const subjectMapping = z
  .object({
    template: z
      .string()
      .includes('{subject}', { error: 'must contain {subject}' })
      .default('{subject}')
      .describe('How the caller subject becomes the assertion sub, e.g. {subject}@corp.example.'),
    case: z.enum(['preserve', 'upper', 'lower']).default('preserve'),
    maxLength: z.number().int().min(1).max(1024).default(64).describe('Longest sub the server accepts.'),
  })
  .strict();

/** Claims the assertion builder owns; static extra claims may not set them. */
const REGISTERED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti'] as const;

const assertionSettings = z
  .object({
    signingKey: identifier.optional().describe('Default: the only active signing key.'),
    issuer: z.string().min(1).max(256).optional().describe('The iss claim; default the client id.'),
    audience: z
      .union([z.enum(['token_endpoint', 'issuer']), z.object({ value: z.string().min(1) }).strict()])
      .default('token_endpoint')
      .describe('token_endpoint (Entra, Okta, Google), issuer (Auth0, RFC 7523bis) or a fixed value.'),
    lifetimeSeconds: z.number().int().min(1).max(300).default(60),
    notBefore: z.boolean().default(false).describe('Add nbf (never in the future).'),
    clockSkewSeconds: z
      .number()
      .int()
      .min(0)
      .max(60)
      .default(0)
      .describe('Backdate iat and nbf; counts against lifetimeSeconds (exp - iat = lifetimeSeconds).'),
    type: z.string().min(1).nullable().default('JWT').describe('The typ header; null to omit.'),
    includeX5tS256: z.boolean().default(false).describe('Send x5t#S256 when the key has a certificate.'),
    claims: z
      .record(z.string(), z.json())
      .default({})
      .refine((claims) => !REGISTERED_CLAIMS.some((name) => Object.hasOwn(claims, name)), {
        error: 'may not set iss, sub, aud, exp, iat, nbf or jti',
      })
      .describe('Static extra claims.'),
  })
  .strict()
  .refine((a) => a.clockSkewSeconds < a.lifetimeSeconds, {
    error: 'clockSkewSeconds must be less than lifetimeSeconds (backdating iat spends the lifetime)',
    path: ['clockSkewSeconds'],
  });

const RESERVED_PARAMETERS = [
  'grant_type',
  'assertion',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'scope',
  'subject_token',
  'subject_token_type',
  'username',
  'password',
  'refresh_token',
];

// Proxy mode's fixed rules, in a module without zod: the token function reads them at run time.
export { PROXY_BODY_LIMIT_BYTES } from './proxy-limits.ts';

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'expected an HTTP header name (RFC 9110 token)')
  .refine((name) => !(GATEWAY_OWNED_HEADERS as readonly string[]).includes(name.toLowerCase()), {
    error: 'the gateway sets this header itself',
  });

// Field content per RFC 9110 5.5: visible characters, space and tab.
const headerValue = z
  .string()
  .max(4096)
  .regex(/^[\t\x20-\x7E]*$/, 'printable ASCII only');

/** A path prefix as the normalised upstream path would start: no dot segments, no empty segments. */
const pathPrefix = z
  .string()
  .max(512)
  .regex(
    /^\/(?:(?!\.\.?(?:\/|$))[A-Za-z0-9._~!$&'()*+,;=:@-]+\/?)*$/,
    'expected an absolute path like /accounts/ (no ., .., // or percent-encoding)',
  );

const proxySettings = z
  .object({
    baseUrl: httpUrl.describe(
      'The API this target fronts; every call goes to this origin, under this path. https unless environment: development.',
    ),
    headers: z
      .record(headerName, headerValue)
      .default({})
      .describe('Fixed headers added to every proxied request (not for secrets: they are in the file).'),
    methods: z
      .array(z.enum(PROXY_METHODS))
      .min(1)
      .default(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'])
      .describe('HTTP methods callers may use.'),
    pathPrefixes: z
      .array(pathPrefix)
      .min(1)
      .default(['/'])
      .describe(
        'Normalised paths (below baseUrl) callers may reach; /accounts matches /accounts and /accounts/….',
      ),
    scope: z
      .string()
      .min(1)
      .optional()
      .describe("Scope of the tokens for proxied calls; the target's scope when omitted."),
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .max(25_000)
      .default(10_000)
      .describe('For each call to the API; never beyond the request deadline.'),
    maxRequestBytes: z
      .number()
      .int()
      .min(0)
      .max(PROXY_BODY_LIMIT_BYTES)
      .default(PROXY_BODY_LIMIT_BYTES)
      .describe('Largest request body (413 above).'),
    maxResponseBytes: z
      .number()
      .int()
      .min(0)
      .max(PROXY_BODY_LIMIT_BYTES)
      .default(PROXY_BODY_LIMIT_BYTES)
      .describe('Largest API response body (502 api_response_too_large above).'),
    reissueAfterSeconds: secondsUpToAnHour(1, 30).describe(
      "After the API's 401, a cached token at least this old is replaced and the call sent once more; a " +
        'younger one is kept and the 401 passed on: at most one new token per user and target per interval.',
    ),
  })
  .strict();

/**
 * How hard the gateway may ask one target's authorization server (docs/CONFIGURATION.md, "Admission").
 * Enforced across instances through the cache table; without one, per instance (see `admission`).
 */
const admissionSettings = z
  .object({
    requestsPerSecond: z
      .number()
      .min(0.1)
      .max(10_000)
      .default(10)
      .describe('Token requests per second to this authorization server, across all instances.'),
    maxConcurrent: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(20)
      .describe('Token requests in flight to this authorization server at once, across all instances.'),
    maxWaitMs: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(1000)
      .describe(
        'A request may wait this long for its turn; later turns are refused at once (503 upstream_busy).',
      ),
    queueSeconds: secondsUpToAnHour(0, 120).describe(
      "How far ahead a refused caller's turn is reserved: it is told to come back then (Retry-After) and goes before newcomers.",
    ),
    turnGraceSeconds: z
      .number()
      .int()
      .min(1)
      .max(60)
      .default(5)
      .describe('A reserved turn is kept this long after its time for a caller that comes back late.'),
    throttledBackoffSeconds: secondsUpToAnHour(1, 5).describe(
      'Back-off after a 429 that carries no Retry-After (and no rate limit reset).',
    ),
  })
  .strict();

const grantType = z.enum(['jwt-bearer', 'token-exchange', 'client_credentials', 'password']);

const target = z
  .object({
    issuer: httpUrl
      .optional()
      .describe('Issuer identifier; discovery finds the token endpoint when it is omitted.'),
    tokenEndpoint: httpUrl.optional(),
    grant: grantType.default('jwt-bearer'),
    clientId: z.string().min(1).max(256),
    clientAuthentication: clientAuthentication,
    assertion: assertionSettings.prefault({}),
    subject: subjectMapping.prefault({}),
    password: z
      .object({ username: secretReference, password: secretReference })
      .strict()
      .optional()
      .describe('For grant: password.'),
    scope: z.string().min(1).optional().describe('Default scope when the caller sends none.'),
    parameters: z
      .record(z.string(), z.string())
      .default({})
      .refine((params) => !RESERVED_PARAMETERS.some((name) => name in params), {
        error: `may not set ${RESERVED_PARAMETERS.join(', ')}`,
      })
      .describe('Extra token request parameters (resource, audience, requested_token_use, ...).'),
    timeoutMs: z.number().int().min(100).max(60_000).default(5000).describe('Per attempt.'),
    maxRetries: z
      .number()
      .int()
      .min(0)
      .max(1)
      .default(1)
      .describe(
        'On network errors, timeouts and 5xx without Retry-After (never on 429); at most 1, so a gateway request makes at most 2 attempts, each admitted.',
      ),
    allowInsecureHttp: z
      .boolean()
      .default(false)
      .describe('Allow http:// endpoints other than loopback (development only).'),
    admission: admissionSettings
      .prefault({})
      .describe("Rate and concurrency of token requests to this target's authorization server."),
    proxy: proxySettings
      .optional()
      .describe('The API this target fronts at /v1/call/{target}/…; without it the target is not proxied.'),
  })
  .strict();

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex SHA-256');

/** The RACF user id shape: 1-8 of A-Z, 0-9, #, $, @. A caller's default subject pattern. */
const RACF_SUBJECT_PATTERN = '^[A-Z0-9#$@]{1,8}$';

/** Caller-facing patterns: JavaScript syntax, refused at load unless they can run in linear time. */
const linearPattern = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((source, ctx) => {
    const problem = linearPatternProblem(source);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const callerGrant = z
  .object({
    subjects: linearPattern
      .default(RACF_SUBJECT_PATTERN)
      .describe(
        'Regular expression of the subjects this caller may obtain tokens for; always anchored, matched in linear time (no backreferences, lookarounds, \\b).',
      ),
    scopes: z
      .array(z.string().min(1))
      .default([])
      .describe('Scopes it may ask for (besides the target default).'),
    audiences: z.array(z.string().min(1)).default([]).describe('Values it may send as audience.'),
    resources: z.array(z.string().min(1)).default([]).describe('Values it may send as resource.'),
  })
  .strict();

/**
 * OAuth client credentials a caller presents at the RFC 6749 facade (`POST /oauth2/{target}/token`) and,
 * as HTTP Basic, at `POST /v1/token`: an id and the SHA-256 of the secret, inline or in a secret (like
 * API keys); never the secret itself.
 */
const oauthClientCredential = z
  .object({
    clientId: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[\x21-\x7E]+$/, 'use printable ASCII without spaces')
      .describe('The client_id z/OS Connect sends (zosconnect_authData user).'),
    secret: z
      .union([z.object({ sha256: sha256Hex }).strict(), secretReference])
      .describe('SHA-256 (hex) of the client secret, inline or held in a secret.'),
  })
  .strict();

/**
 * Where the keys of a mainframe-signed identity token come from: the RFC 8693 facade's `subject_token`
 * and proxy mode's `x-subject-token`.
 */
const trustedIdentityIssuer = z
  .object({
    issuer: z.string().min(1).max(512).describe('The iss the tokens must carry.'),
    audience: z.string().min(1).max(512).describe('The aud the tokens must carry (this gateway).'),
    jwksUrl: httpUrl.optional().describe('Where the issuer publishes its public keys (JWKS).'),
    certificate: secretReference
      .optional()
      .describe('A PEM certificate or public key instead of a JWKS (e.g. exported from a RACF key ring).'),
    algorithms: z
      .array(z.enum(JWS_ALGORITHMS))
      .min(1)
      .default(['RS256', 'ES256'])
      .describe('Accepted JWS algorithms; never none, never HMAC.'),
    maxAgeSeconds: secondsUpToAnHour(1, 300).describe('Refuse tokens issued (iat) longer ago than this.'),
    clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
    // Safe by default: a security team that configures an identity issuer wants proof, and a caller that
    // could still name users would get around it through another route. `false` is the explicit opt-out.
    required: z
      .boolean()
      .default(true)
      .describe(
        'The caller must prove every end user with a token of this issuer: a named user is refused ' +
          '(x-subject on /v1/call, subject on POST /v1/token, the password and client_credentials grants). ' +
          'Default true; false lets the caller also name users.',
      ),
  })
  .strict();

export const callerOAuthSettings = z
  .object({
    clients: z
      .array(oauthClientCredential)
      .default([])
      .describe('OAuth client credentials of this caller (z/OS Connect zosconnect_authData).'),
    password: z
      .union([
        z.literal('ignore'),
        z.object({ required: secretReference.describe('The fixed value the password must equal.') }).strict(),
      ])
      .default('ignore')
      .describe(
        'grant_type=password: the password is not the user password and is never forwarded. ignore it, ' +
          'or require a fixed shared value (held in a secret).',
      ),
    applicationTokens: z
      .boolean()
      .default(false)
      .describe('grant_type=client_credentials without a subject parameter: an application token.'),
    cachingClient: z
      .boolean()
      .default(true)
      .describe(
        'The client caches tokens until they expire (z/OS Connect does): a repeat request for a cached ' +
          'token means an API refused it, so the gateway replaces it (at most once per reissueAfterSeconds).',
      ),
    clientCaches: z
      .enum(['jwtWithoutJti', 'jwt', 'any'])
      .default('jwtWithoutJti')
      .describe(
        'Which tokens the caching client keeps; only those are replaced when asked for again. ' +
          'jwtWithoutJti: IBM z/OS Connect keeps a JWT with exp and no jti, and asks on every call for ' +
          'any other token, which is then served, not replaced (one exchange per token lifetime). jwt: ' +
          'cacheTokensWithJti="true". any: a client that keeps every token.',
      ),
    reissueAfterSeconds: secondsUpToAnHour(1, 30).describe(
      'A cached token younger than this is served, not replaced: bounds re-exchanges per token.',
    ),
    identityTokens: trustedIdentityIssuer
      .optional()
      .describe(
        'Who may sign identity tokens for this caller: grant_type=token-exchange (subject_token) and ' +
          'proxy mode (x-subject-token).',
      ),
  })
  .strict();

const caller = z
  .object({
    apiKeys: z
      .array(z.union([z.object({ sha256: sha256Hex }).strict(), secretReference]))
      .default([])
      .describe('SHA-256 (hex) of the API keys sent in x-api-key, inline or in a secret; never the keys.'),
    mtlsSubjects: z
      .array(z.string().min(1))
      .default([])
      .describe('Client certificate subject DNs (mutual TLS).'),
    iamPrincipals: z
      .array(z.string().startsWith('arn:'))
      .default([])
      .describe('IAM principal ARNs (IAM-authorized routes); a trailing * matches any suffix.'),
    authorizerPrincipals: z
      .array(z.string().min(1))
      .default([])
      .describe('principalId values set by a Lambda authorizer.'),
    oauth: callerOAuthSettings
      .prefault({})
      .describe('The RFC 6749 facade (POST /oauth2/{target}/token): client credentials and grant handling.'),
    targets: z.record(identifier, callerGrant).describe('What this caller may request, per target.'),
  })
  .strict();

const cacheSettings = z
  .object({
    dynamodb: z
      .object({
        tableName: z.string().min(3).max(255).describe('The token table (see infra/).'),
        encryption: z
          .union([
            z
              .object({ kmsKeyId: z.string().min(1).describe('Symmetric KMS key for the data keys.') })
              .strict(),
            z
              .object({ localKeyFile: z.string().min(1).describe('32 random bytes, base64 (development).') })
              .strict(),
          ])
          .describe('Envelope encryption of the tokens in the table.'),
        dataKeyRotationSeconds: z.number().int().min(60).max(86_400).default(3600),
      })
      .strict()
      .optional()
      .describe('The shared layer; without it each instance caches in memory only.'),
    maxEntries: z.number().int().min(1).max(1_000_000).default(10_000).describe('Memory layer size (LRU).'),
    minRemainingSeconds: secondsUpToAnHour(0, 30).describe('Never serve a token with less left.'),
    refreshAheadSeconds: secondsUpToAnHour(0, 120).describe('Refresh within this of expiry.'),
    refreshJitterSeconds: z.number().int().min(0).max(600).default(30).describe('Per-instance extra window.'),
    negativeTtlSeconds: secondsUpToAnHour(0, 30).describe('Remember invalid_grant this long.'),
    localMaxAgeSeconds: secondsUpToAnHour(0, 60).describe(
      'With DynamoDB: how long memory answers before the shared item is read again.',
    ),
    defaultLifetimeSeconds: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(300)
      .describe('When the server gives no expires_in and the token is no JWT.'),
  })
  .strict()
  .refine((c) => c.minRemainingSeconds <= c.refreshAheadSeconds, {
    error: 'minRemainingSeconds must not exceed refreshAheadSeconds',
    path: ['minRemainingSeconds'],
  });

export const gatewayConfig = z
  .object({
    $schema: z.string().optional(),
    environment: z.enum(['production', 'development']).default('production'),
    signingKeys: z.record(identifier, signingKey),
    targets: z.record(identifier, target),
    callers: z
      .record(identifier, caller)
      .default({})
      .describe('Who may obtain tokens for whom; deny by default.'),
    secrets: z
      .object({ cacheTtlSeconds: z.number().int().min(0).max(86_400).default(300) })
      .strict()
      .prefault({}),
    cache: cacheSettings.prefault({}).describe('The token cache.'),
    admission: z
      .object({
        fallbackInstances: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(4)
          .describe(
            'Without the cache table (or while it fails) each instance admits this share of every rate and concurrency limit: 1/fallbackInstances.',
          ),
      })
      .strict()
      .prefault({})
      .describe('Admission control (per-target limits are under targets.<id>.admission).'),
  })
  .strict()
  .superRefine(checkReferences);

export type GatewayConfigInput = z.input<typeof gatewayConfig>;
export type GatewayConfig = z.output<typeof gatewayConfig>;
export type TargetConfig = z.output<typeof target>;
export type SigningKeyConfig = z.output<typeof signingKey>;
export type SecretReference = z.output<typeof secretReference>;
export type ClientAuthenticationConfig = z.output<typeof clientAuthentication>;
export type CallerConfig = z.output<typeof caller>;
export type CacheConfig = z.output<typeof cacheSettings>;
export type CallerGrantConfig = z.output<typeof callerGrant>;
export type CallerOAuthConfig = z.output<typeof callerOAuthSettings>;
export type TrustedIdentityIssuerConfig = z.output<typeof trustedIdentityIssuer>;
export type ProxyConfig = z.output<typeof proxySettings>;

type RawConfig = Omit<GatewayConfig, never>;

/** Cross-field rules the shapes alone cannot say; each issue names the exact field. */
function checkReferences(config: RawConfig, ctx: z.RefinementCtx): void {
  const active = Object.entries(config.signingKeys).filter(([, key]) => !key.retired);
  for (const [id, key] of Object.entries(config.signingKeys)) {
    if (key.certificateFile && key.certificate) {
      const message = 'set certificateFile or certificate, not both';
      ctx.addIssue({ code: 'custom', path: ['signingKeys', id, 'certificate'], message });
    }
  }
  const usable = (name: string | undefined, path: (string | number)[]): void => {
    if (name === undefined) return;
    const key = lookup(config.signingKeys, name);
    if (!key) ctx.addIssue({ code: 'custom', path, message: `no signing key named "${name}"` });
    else if (key.retired) ctx.addIssue({ code: 'custom', path, message: `signing key "${name}" is retired` });
  };
  for (const [id, t] of Object.entries(config.targets)) {
    const at = (...rest: (string | number)[]) => ['targets', id, ...rest];
    for (const field of ['tokenEndpoint', 'issuer'] as const) {
      const url = t[field];
      if (url && !transportAllowed(url, t.allowInsecureHttp)) {
        const message = 'use https (plain http only to loopback, or with allowInsecureHttp in development)';
        ctx.addIssue({ code: 'custom', path: at(field), message });
      }
    }
    if (!t.tokenEndpoint && !t.issuer) {
      ctx.addIssue({ code: 'custom', path: at('tokenEndpoint'), message: 'set tokenEndpoint or issuer' });
    }
    const signs = signsAssertion(t.grant);
    if (signs) {
      if (t.assertion.signingKey === undefined && active.length !== 1) {
        const message = `name one of the ${active.length} active signing keys`;
        ctx.addIssue({ code: 'custom', path: at('assertion', 'signingKey'), message });
      }
      usable(t.assertion.signingKey, at('assertion', 'signingKey'));
      if (t.assertion.audience === 'issuer' && !t.issuer) {
        ctx.addIssue({
          code: 'custom',
          path: at('assertion', 'audience'),
          message: 'audience issuer needs issuer',
        });
      }
    }
    const auth = t.clientAuthentication;
    if (auth.method === 'private_key_jwt') {
      usable(auth.signingKey, at('clientAuthentication', 'signingKey'));
      if (auth.signingKey === undefined && !signs && active.length !== 1) {
        const message = 'name the signing key for private_key_jwt';
        ctx.addIssue({ code: 'custom', path: at('clientAuthentication', 'signingKey'), message });
      }
      if (auth.audience === 'issuer' && !t.issuer) {
        const message = 'audience issuer needs issuer';
        ctx.addIssue({ code: 'custom', path: at('clientAuthentication', 'audience'), message });
      }
    }
    if (t.grant === 'password' && !t.password) {
      ctx.addIssue({
        code: 'custom',
        path: at('password'),
        message: 'grant password needs username and password',
      });
    }
    if (t.proxy) checkProxy(t.proxy, config.environment, t.allowInsecureHttp, at('proxy', 'baseUrl'), ctx);
    if (config.environment === 'production' && t.allowInsecureHttp) {
      const message = 'allowed only with environment: development';
      ctx.addIssue({ code: 'custom', path: at('allowInsecureHttp'), message });
    }
  }
  // Also run at cold start on filled placeholders (compiled-config.ts): in a module of their own, without zod.
  for (const { path, message } of clientIdIssues(config)) ctx.addIssue({ code: 'custom', path, message });
  // One API key for two callers would make the caller a request is depend on the order of the
  // configuration. Only inline hashes can be compared here (those in secrets are read per request); a
  // placeholder cannot stand in sha256 (its stand-in is no hex), so the cold start need not check again.
  const keyOwners = new Map<string, string>();
  for (const [id, c] of Object.entries(config.callers)) {
    c.apiKeys.forEach((key, index) => {
      if (!('sha256' in key)) return;
      const hash = key.sha256.toLowerCase();
      const other = keyOwners.get(hash);
      if (other !== undefined && other !== id) {
        const message = `API key hash already used by caller "${other}"`;
        ctx.addIssue({ code: 'custom', path: ['callers', id, 'apiKeys', index, 'sha256'], message });
      }
      if (other === undefined) keyOwners.set(hash, id);
    });
  }
  for (const [id, c] of Object.entries(config.callers)) {
    const trust = c.oauth.identityTokens;
    if (trust && (trust.jwksUrl === undefined) === (trust.certificate === undefined)) {
      const message = 'set exactly one of jwksUrl, certificate';
      ctx.addIssue({ code: 'custom', path: ['callers', id, 'oauth', 'identityTokens'], message });
    }
    // The keys that prove every user: fetched over plain http, anyone on the path could forge users.
    if (trust?.jwksUrl && !transportAllowed(trust.jwksUrl, config.environment === 'development')) {
      const message = 'use https (plain http only to loopback, or in environment: development)';
      ctx.addIssue({ code: 'custom', path: ['callers', id, 'oauth', 'identityTokens', 'jwksUrl'], message });
    }
    for (const targetId of Object.keys(c.targets)) {
      if (!lookup(config.targets, targetId)) {
        ctx.addIssue({
          code: 'custom',
          path: ['callers', id, 'targets', targetId],
          message: 'no such target',
        });
      }
    }
    if (
      c.apiKeys.length +
        c.mtlsSubjects.length +
        c.iamPrincipals.length +
        c.authorizerPrincipals.length +
        c.oauth.clients.length ===
      0
    ) {
      const message =
        'set at least one of apiKeys, mtlsSubjects, iamPrincipals, authorizerPrincipals, oauth.clients';
      ctx.addIssue({ code: 'custom', path: ['callers', id], message });
    }
  }
}

/**
 * The proxied API's base URL is the only place an upstream host comes from, so it must be exact: https
 * outside development (and there, plain http only to loopback unless allowInsecureHttp), and no
 * credentials, query or fragment that every call would carry.
 */
function checkProxy(
  proxy: ProxyConfig,
  environment: GatewayConfig['environment'],
  allowInsecureHttp: boolean,
  path: (string | number)[],
  ctx: z.RefinementCtx,
): void {
  const url = URL.parse(proxy.baseUrl);
  if (!url) return; // the schema reports it
  const insecureOk = environment === 'development' && transportAllowed(proxy.baseUrl, allowInsecureHttp);
  if (url.protocol !== 'https:' && !insecureOk) {
    const message = 'use https (plain http only with environment: development)';
    ctx.addIssue({ code: 'custom', path, message });
  }
  if (url.username || url.password || url.search || url.hash) {
    ctx.addIssue({ code: 'custom', path, message: 'no credentials, query or fragment in the base URL' });
  }
}
