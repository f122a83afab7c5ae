import { formDecode } from '../config/client-id-rules.ts';
import { type AuthorizerCredentialFields, isCredentialQueryParameter } from '../config/credential-fields.ts';

/**
 * The query string sent to the proxied API: the caller's, byte for byte, minus every parameter that is a
 * credential (SigV4 presigned-URL parameters, whatever the deployment's Lambda authorizer reads from the
 * query). A name is compared form-decoded, so `X-Amz-%53ignature` is the signature too; the parameters
 * kept are not decoded or re-encoded (RFC 3986 6.2.2.2: an API may tell `%27` from `'`).
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-query-string-auth.html
 */
export function forwardedQuery(rawQuery: string, authorizer: AuthorizerCredentialFields): string {
  if (rawQuery === '') return rawQuery;
  const kept = rawQuery.split('&').filter((parameter) => {
    const equals = parameter.indexOf('=');
    return !isCredentialQueryParameter(
      formDecode(equals < 0 ? parameter : parameter.slice(0, equals)),
      authorizer,
    );
  });
  return kept.join('&');
}
