import { ApiError } from '../http/api-errors.ts';
import type { CallerCredentials } from '../policy/caller-policy.ts';

/**
 * RFC 6749 2.3.1: `client_id` and `client_secret` in the body instead of HTTP Basic, never both. They are
 * removed from the form, which then holds only grant parameters. A client id without a secret is a
 * public client, which the facade has none of.
 */
export function withBodyClientCredentials(
  credentials: CallerCredentials,
  form: Map<string, string>,
): CallerCredentials {
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  form.delete('client_id');
  form.delete('client_secret');
  if (id === undefined && secret === undefined) return credentials;
  if (credentials.oauthClient !== undefined) {
    // Some clients repeat their client_id in the body next to HTTP Basic: not a second authentication
    // method (RFC 6749 2.3.1), so it is accepted when it names the same client.
    const basic = credentials.oauthClient;
    if (secret === undefined && (id === basic.id || id === basic.raw?.id)) return credentials;
    throw new ApiError(
      'invalid_request',
      'send the client credentials once: HTTP Basic or the body, not both',
    );
  }
  if (id === undefined) throw new ApiError('invalid_request', 'client_secret without client_id');
  // A missing secret cannot match any client: refused as invalid_client.
  return { ...credentials, oauthClient: { id, secret: secret ?? '' } };
}
