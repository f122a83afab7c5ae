import { AuthorizationServerError, isGatewayError } from '#lib/errors.ts';

/**
 * An error in plain words for an operator: what happened and what to check. The authorization server's
 * own `error` (RFC 6749 5.2) decides for a refusal; the gateway's error code otherwise.
 */
export function explain(error: unknown): { code: string; explanation: string } {
  if (error instanceof AuthorizationServerError) {
    const said = error.errorDescription ? ` It said: "${error.errorDescription.slice(0, 300)}".` : '';
    const byError: Record<string, string> = {
      invalid_grant:
        'The authorization server refused the assertion. It does not trust the signing key (is the JWKS URL, ' +
        'or this key, registered there, with this kid?), or a claim is not what it expects: iss (the issuer it ' +
        'was told to trust), sub (is the user known there, after subject mapping?), aud (token endpoint, ' +
        'issuer or a fixed value: assertion.audience), or the assertion lifetime or clock skew.',
      invalid_client:
        'The authorization server did not accept the client authentication: check clientId, the client ' +
        'secret (in Secrets Manager or the environment) or, for private_key_jwt, that the key is registered ' +
        'for this client.',
      unauthorized_client:
        'The client is known, but may not use this grant: allow the JWT bearer grant ' +
        '(urn:ietf:params:oauth:grant-type:jwt-bearer) for it at the authorization server.',
      unsupported_grant_type:
        'The authorization server does not support this grant at all (the JWT bearer grant may be a feature to ' +
        'turn on: see docs/DEPLOY.md for your vendor).',
      invalid_scope: 'The authorization server refused the requested scope for this client or user.',
      access_denied: 'The authorization server refused this user or client.',
      invalid_request: 'The authorization server found the token request malformed or missing a parameter.',
    };
    const explanation =
      byError[error.error] ?? `The authorization server refused the request with "${error.error}".`;
    return { code: error.error, explanation: `${explanation}${said} (HTTP ${error.status})` };
  }
  if (isGatewayError(error)) {
    const byCode: Partial<Record<string, string>> = {
      ERR_AS_UNAVAILABLE:
        'The authorization server could not be reached, or failed (5xx, 429): check the URL, DNS, the ' +
        'network path (proxy, firewall) and the server itself.',
      ERR_AS_TIMEOUT: "The authorization server did not answer in time (the target's timeoutMs).",
      ERR_AS_RESPONSE_INVALID:
        'The authorization server answered, but not with a valid token (or metadata) response: is the URL ' +
        'really its token endpoint (or issuer)?',
      ERR_SIGNING_UNAVAILABLE:
        'KMS could not sign: check AWS credentials and region, that this principal may kms:Sign with the ' +
        'key, and AWS_ENDPOINT_URL if you use one.',
      ERR_SIGNING_KEY_NOT_FOUND: 'The signing key does not exist (key id, ARN or alias, and the region).',
      ERR_SIGNING_KEY_UNUSABLE:
        'The signing key exists but may not sign (disabled, pending deletion, retired).',
      ERR_SIGNING_KEY_UNSUPPORTED: 'The signing key is of a type the gateway cannot sign JWTs with.',
      ERR_SECRET_NOT_FOUND:
        'A secret the target needs does not exist (secret id, field or environment variable).',
      ERR_SECRET_UNAVAILABLE:
        'Secrets Manager could not be read: check AWS credentials, region and secretsmanager:GetSecretValue.',
      ERR_SUBJECT_INVALID:
        'The subject cannot become an assertion sub (empty, too long after mapping, control characters).',
      ERR_TARGET_UNKNOWN: 'No target of that name is configured.',
    };
    // A configuration error's message lists every field and problem: it is the explanation.
    return { code: error.code, explanation: byCode[error.code] ?? error.message };
  }
  const name = error instanceof Error ? error.name : 'Error';
  return { code: name, explanation: error instanceof Error ? error.message : String(error) };
}
