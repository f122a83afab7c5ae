/**
 * The one list of request fields that carry a credential: proxy mode never forwards them
 * (proxy/forwarded-headers.ts, proxy/forwarded-query.ts) and the logger never writes their values
 * (observability/logger.ts), including when Powertools logs the whole event (`POWERTOOLS_LOGGER_LOG_EVENT`).
 * One list, so that a credential added for one is covered by both.
 */

/**
 * Request headers that are credentials, lower-case: the caller's own (`Authorization`, `x-api-key`, a
 * Lambda authorizer's token, an IAM caller's STS session token), the end user's proof (`x-subject-token`),
 * what a browser-style client or a forward proxy adds (`Cookie`, `Proxy-Authorization`), and the client
 * certificate as TLS terminators pass it on (RFC 9440 `Client-Cert`, Envoy's `X-Forwarded-Client-Cert`,
 * API Gateway's `X-Amzn-Mtls-*`, nginx/F5 style `X-SSL-Client-*`).
 */
const CREDENTIAL_HEADER =
  /^(?:authorization|proxy-authorization|x-api-key|cookie|x-subject-token|x-amz-security-token|client-cert(?:-chain)?|x-client-cert.*|x-forwarded-client-cert|x-ssl-client.*|ssl-client.*|x-amzn-mtls-.*|x-client-dn)$/;

/**
 * SigV4 query-string authentication (a presigned URL): each parameter is part of a credential, the
 * session token and signature above all. Compared case-insensitively, since an API may read them so.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-query-string-auth.html
 */
const CREDENTIAL_QUERY_PARAMETER =
  /^x-amz-(?:algorithm|credential|date|expires|signedheaders|signature|security-token)$/i;

/** Whether a (decoded) query parameter name is a credential: SigV4's, or one the authorizer reads. */
export function isCredentialQueryParameter(name: string, authorizer: AuthorizerCredentialFields): boolean {
  return CREDENTIAL_QUERY_PARAMETER.test(name) || authorizer.query.has(name.toLowerCase());
}

/** Whether a (lower-case) header name is a credential: one of the list, or one the authorizer reads. */
export function isCredentialHeader(name: string, authorizer: AuthorizerCredentialFields): boolean {
  return CREDENTIAL_HEADER.test(name) || authorizer.headers.has(name);
}

/** The header and query parameter names a Lambda authorizer reads its credential from, lower-case. */
export interface AuthorizerCredentialFields {
  readonly headers: ReadonlySet<string>;
  readonly query: ReadonlySet<string>;
}

/** No Lambda authorizer (or one whose credential is in `Authorization`, already in the list). */
export const NO_AUTHORIZER_FIELDS: AuthorizerCredentialFields = { headers: new Set(), query: new Set() };

/**
 * Where the deployment's Lambda authorizer reads the caller's credential: API Gateway's identity source
 * (`$request.header.X-Token, $request.querystring.token`, the deployment parameter
 * `callerAuthorizerIdentitySource`, given to the function as `CALLER_AUTHORIZER_IDENTITY_SOURCE`).
 * `$context.*` and `$stageVariables.*` name nothing the caller sends.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
 */
export function authorizerCredentialFields(identitySource: string | undefined): AuthorizerCredentialFields {
  const headers = new Set<string>();
  const query = new Set<string>();
  for (const part of (identitySource ?? '').split(',')) {
    const match = /^\s*\$request\.(header|querystring)\.(\S+)\s*$/i.exec(part);
    if (!match) continue;
    (match[1]!.toLowerCase() === 'header' ? headers : query).add(match[2]!.toLowerCase());
  }
  return { headers, query };
}

/** The deployment's authorizer credential fields, as the token function's environment names them. */
export function deployedAuthorizerCredentialFields(
  env: NodeJS.ProcessEnv = process.env,
): AuthorizerCredentialFields {
  return authorizerCredentialFields(env.CALLER_AUTHORIZER_IDENTITY_SOURCE);
}
