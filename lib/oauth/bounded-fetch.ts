import { GatewayError } from '../errors.ts';

/**
 * The most of an authorization server's answer (token, error or metadata) the gateway reads. A token
 * response holds an access token of at most 8192 characters plus a refresh token, a scope and a few
 * numbers; 64 KiB is ample and keeps a hostile or broken server from filling a 512 MB function.
 */
const MAX_AS_RESPONSE_BYTES = 64 * 1024;

/**
 * Wraps a fetch so every response body is read here, as a stream, and reading stops (the connection is
 * cancelled) as soon as it passes `maxBytes`. oauth4webapi then parses the bounded copy: it would
 * otherwise buffer whatever the server sends (50 MB of HTML took the function from 112 to 390 MB).
 * An oversized 5xx or 429 keeps its status with an empty body, so the retry policy still sees an outage;
 * any other oversized answer is refused as invalid.
 */
export function boundedFetch(transport: typeof fetch, maxBytes = MAX_AS_RESPONSE_BYTES): typeof fetch {
  return async (input, init) => {
    const response = await transport(input, init);
    const body = await readAtMost(response, maxBytes);
    const init2 = { status: response.status, statusText: response.statusText, headers: response.headers };
    if (body === undefined) {
      if (response.status >= 500 || response.status === 429) return new Response(null, init2);
      throw new GatewayError(
        'ERR_AS_RESPONSE_INVALID',
        `the authorization server's answer (HTTP ${response.status}) exceeds ${maxBytes} bytes`,
      );
    }
    return new Response(NULL_BODY_STATUSES.has(response.status) ? null : body, init2);
  };
}

/** Statuses a Response may not be constructed with a body for. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** The body, or undefined (and the rest cancelled unread) once it passes `maxBytes`. */
async function readAtMost(response: Response, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, length);
}
