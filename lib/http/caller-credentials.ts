import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { formDecode } from '../config/client-id-rules.ts';
import type { CallerCredentials, OAuthClientCredentials } from '../policy/caller-policy.ts';

/** The parts of an HTTP API v2 request context that may identify a caller, whichever authorizer ran. */
interface AuthorizerContext {
  readonly iam?: { readonly userArn?: unknown };
  readonly lambda?: { readonly principalId?: unknown };
}

/**
 * Reads every credential an API Gateway HTTP API (payload v2) request can carry: `x-api-key`, the mutual
 * TLS client certificate's subject DN, the IAM principal of an IAM-authorized route, and the principal a
 * Lambda authorizer put in its context. Headers are already lower-cased by the header normalizer.
 */
export function callerCredentials(event: APIGatewayProxyEventV2): CallerCredentials {
  const context = event.requestContext as APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: AuthorizerContext;
  };
  // Only strings count: a null or otherwise odd member (an unusual authorizer, a hand-made test event)
  // must leave the caller unidentified, not fail the request.
  return {
    apiKey: text(event.headers?.['x-api-key']),
    mtlsSubject: text(context.authentication?.clientCert?.subjectDN),
    iamPrincipal: text(context.authorizer?.iam?.userArn),
    authorizerPrincipal: text(context.authorizer?.lambda?.principalId),
    oauthClient: basicCredentials(text(event.headers?.authorization)),
  };
}

/**
 * HTTP Basic client credentials (RFC 6749 2.3.1): base64 of `urlencode(id):urlencode(secret)`. Decoded
 * leniently, because many clients never form-encode: the form-decoded reading and, if it differs, the raw
 * one. Anything after `Basic ` that is not base64 with a colon identifies nobody, so the request is
 * refused as an unknown client. Other schemes (SigV4 on IAM routes) are not client credentials.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export function basicCredentials(authorization: string | undefined): OAuthClientCredentials | undefined {
  const match = /^basic[ \t]+([A-Za-z0-9+/=._~-]*)[ \t]*$/i.exec(authorization ?? '');
  if (!authorization || !/^basic(\s|$)/i.test(authorization)) return undefined;
  const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon < 1) return { id: '', secret: '' };
  const raw = { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  const id = formDecode(raw.id);
  const secret = formDecode(raw.secret);
  const same = id === raw.id && secret === raw.secret;
  return same ? raw : { id, secret, raw };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
