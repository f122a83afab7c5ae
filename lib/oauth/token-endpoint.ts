import * as oauth from 'oauth4webapi';
import { AuthorizationServerError, GatewayError, isGatewayError } from '../errors.ts';
import { type HttpSettings, requestOptions } from './http-options.ts';
import { parseRetryAfter, type RetryPolicy, retryDelayMs } from './retry.ts';
import { MAX_ERROR_CODE_LENGTH, MAX_ERROR_DESCRIPTION_LENGTH, serverText } from './server-text.ts';
import { checkRawExpiresIn, validateTokenFields } from './token-response.ts';

/** A successful token response, normalized (RFC 6749 5.1, RFC 8693 2.2.1). */
export interface TokenResponse {
  readonly accessToken: string;
  /** Lower-cased by oauth4webapi: `bearer`, `dpop`, or `n_a` for token exchange. */
  readonly tokenType: string;
  readonly expiresIn?: number | undefined;
  readonly scope?: string | undefined;
  readonly refreshToken?: string | undefined;
  readonly issuedTokenType?: string | undefined;
}

export interface TokenRequest {
  readonly as: oauth.AuthorizationServer;
  readonly client: oauth.Client;
  readonly clientAuthentication: oauth.ClientAuth;
  readonly grantType: string;
  /**
   * Builds the grant parameters for one attempt. Called again on every retry, so each attempt carries
   * a fresh assertion: a server that saw the first one would reject its `jti` as a replay.
   */
  readonly parameters: () => Promise<Record<string, string>>;
  /** Admits each attempt (the target's rate, concurrency and back-off, lib/admission); none admits all. */
  readonly gate?: AttemptGate | undefined;
}

/**
 * The target's admission, per attempt: `enter` is taken before anything is signed (a refused request
 * costs KMS nothing) and throws `ERR_AS_BUSY` with a Retry-After when the attempt may not go; `observe`
 * reads what every answer says about the server's limits and resolves the end of the back-off window it
 * opened (epoch ms), if any.
 */
export interface AttemptGate {
  /** `ensureClear` throws the refusal when a window opened since: checked just before sending. */
  enter(deadline: number): Promise<{ release(): Promise<void>; ensureClear?(): void }>;
  observe(status: number, headers: Headers): Promise<number | undefined>;
}

export interface TokenEndpointSettings extends HttpSettings {
  readonly retry: RetryPolicy;
}

/** RFC 8693 2.2.1 lets a token exchange answer `N_A` when the issued token is not an access token. */
const recognizedTokenTypes = { n_a: () => undefined };

/**
 * Sends a token request with a timeout on each attempt and at most one retry, with jitter, on network
 * errors, timeouts and 5xx, never on 4xx, and only when the retry can run its whole timeout before the
 * deadline. A 429, or a 503 with `Retry-After`, is never retried: the server asked for a pause, which the
 * gate opens for every request to it, and the caller is answered at once (`ERR_AS_BUSY` with the
 * Retry-After). Every attempt, a retry too, is admitted by the gate. OAuth errors become
 * `AuthorizationServerError` carrying the server's own `error` and `error_description`.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5
 * @see https://www.rfc-editor.org/rfc/rfc6585#section-4
 */
export async function requestToken(
  request: TokenRequest,
  settings: TokenEndpointSettings,
  deadline = Number.POSITIVE_INFINITY,
): Promise<TokenResponse> {
  const endpoint = request.as.token_endpoint;
  if (!endpoint)
    throw new GatewayError('ERR_AS_RESPONSE_INVALID', 'the authorization server has no token endpoint');
  const attempts = Math.min(1 + settings.retry.maxRetries, MAX_ATTEMPTS);
  for (let attempt = 0; ; attempt++) {
    const last = attempt + 1 >= attempts;
    if (deadline - Date.now() < MIN_ATTEMPT_MS) throw timedOut(endpoint);
    const permit = await request.gate?.enter(deadline);
    try {
      // Signing and secrets failures are ours, not the server's: built outside the retried part.
      const parameters = await request.parameters();
      // Another request's 429 may have arrived while this one was signed: never send into that window.
      permit?.ensureClear?.();
      // Measured after signing, which may itself have taken a while (KMS).
      const timeoutMs = Math.min(settings.timeoutMs, deadline - Date.now());
      if (timeoutMs < MIN_ATTEMPT_MS) throw timedOut(endpoint);
      let response: Response;
      try {
        response = await oauth.genericTokenEndpointRequest(
          request.as,
          request.client,
          request.clientAuthentication,
          request.grantType,
          parameters,
          requestOptions(endpoint, { ...settings, timeoutMs }),
        );
      } catch (error) {
        if (isGatewayError(error)) throw error; // client authentication (secret, signature) failed
        if (!isTransient(error)) throw requestFailure(endpoint, error);
        if (last) throw networkFailure(endpoint, error);
        if (!(await backOff(attempt, settings, deadline))) throw networkFailure(endpoint, error);
        continue;
      }
      const backoffUntil = await request.gate?.observe(response.status, response.headers);
      if (response.status === 429 || (response.status === 503 && response.headers.has('retry-after'))) {
        throw await busyFrom(response, endpoint, backoffUntil);
      }
      if (response.status >= 500) {
        if (last) throw await unavailableFrom(response, endpoint);
        await response.body?.cancel();
        if (!(await backOff(attempt, settings, deadline))) {
          throw unavailable(endpoint, `HTTP ${response.status}, no time left to retry`);
        }
        continue;
      }
      return await processTokenResponse(request, response);
    } finally {
      await permit?.release();
    }
  }
}

/** An attempt with less time than this left is not worth starting. */
const MIN_ATTEMPT_MS = 100;

/**
 * At most two requests reach the authorization server per gateway request, whatever `maxRetries` says: a
 * slow server is not helped by being asked again and again, each time with a fresh assertion.
 */
const MAX_ATTEMPTS = 2;

/**
 * Sleeps before the next attempt, unless that attempt could not run its full timeout before the
 * deadline: a retry cut short would cost the server a request and tell us nothing.
 */
async function backOff(attempt: number, settings: TokenEndpointSettings, deadline: number): Promise<boolean> {
  const delay = retryDelayMs(attempt, null, settings.retry);
  if (Date.now() + delay + settings.timeoutMs > deadline) return false;
  await settings.retry.sleep(delay);
  return true;
}

/** Network failures and timeouts are worth another attempt; anything else would fail the same way. */
function isTransient(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return true;
  return error instanceof TypeError && error.message === 'fetch failed';
}

/** The request could not even be sent (plain http refused, invalid endpoint): a configuration problem. */
function requestFailure(endpoint: string, error: unknown): GatewayError {
  const message = error instanceof Error ? error.message : String(error);
  return new GatewayError('ERR_CONFIG_INVALID', `cannot send a token request to ${endpoint}: ${message}`, {
    cause: error,
  });
}

async function processTokenResponse(request: TokenRequest, received: Response): Promise<TokenResponse> {
  try {
    const response = await withoutIdToken(received);
    const json = await oauth.processGenericTokenEndpointResponse(request.as, request.client, response, {
      recognizedTokenTypes,
    });
    const issuedTokenType = (json as { issued_token_type?: unknown }).issued_token_type;
    return {
      ...validateTokenFields({
        accessToken: json.access_token,
        tokenType: json.token_type,
        expiresIn: json.expires_in,
        scope: json.scope,
        refreshToken: json.refresh_token,
      }),
      issuedTokenType:
        typeof issuedTokenType === 'string'
          ? serverText(issuedTokenType, MAX_TOKEN_TYPE_URI_LENGTH)
          : undefined,
    };
  } catch (error) {
    if (isGatewayError(error)) throw error;
    throw await mapResponseError(error);
  }
}

/** `issued_token_type` is a URI (RFC 8693 3); it only ever appears in an error message. */
const MAX_TOKEN_TYPE_URI_LENGTH = 128;

/**
 * Servers add an `id_token` when `openid` is in scope (oidc-provider does on refresh). The gateway never
 * uses ID tokens, and oauth4webapi would validate one against client metadata (signing algorithm, key)
 * that a token broker does not have, so it is dropped before processing.
 */
async function withoutIdToken(response: Response): Promise<Response> {
  if (response.status !== 200) return response;
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new Response(text, { status: response.status, headers: response.headers });
  }
  if (body && typeof body === 'object') {
    if ('id_token' in body) delete (body as { id_token?: unknown }).id_token;
    checkRawExpiresIn((body as { expires_in?: unknown }).expires_in);
  }
  return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
}

async function mapResponseError(error: unknown): Promise<GatewayError> {
  if (error instanceof oauth.ResponseBodyError) {
    return serverRefusal(error.error, error.error_description, error.status, error);
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    // A 401 with a challenge (typically invalid_client): the body usually still says what went wrong.
    const body = (await error.response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    const challenge = error.cause[0]?.parameters;
    const code = stringOr(body?.error, challenge?.error, 'invalid_client');
    const description = stringOr(body?.error_description, challenge?.error_description, undefined);
    return serverRefusal(code, description, error.status, error);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new GatewayError('ERR_AS_RESPONSE_INVALID', `invalid token response: ${message}`, { cause: error });
}

/**
 * The server's refusal with its own words cut and cleaned (see serverText). No cause: oauth4webapi's
 * error holds the whole response body, which would follow the refusal into logs.
 */
function serverRefusal(
  code: string,
  description: string | undefined,
  status: number,
  error: Error,
): AuthorizationServerError {
  const cleanDescription =
    description === undefined ? undefined : serverText(description, MAX_ERROR_DESCRIPTION_LENGTH);
  return new AuthorizationServerError(serverText(code, MAX_ERROR_CODE_LENGTH), cleanDescription, status, {
    cause: new Error(`${error.name}: HTTP ${status}`),
  });
}

async function unavailableFrom(response: Response, endpoint: string): Promise<GatewayError> {
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  const oauthError =
    typeof body?.error === 'string' ? `, ${serverText(body.error, MAX_ERROR_CODE_LENGTH)}` : '';
  // The server's own Retry-After, passed on to the caller (capped: an hour is long enough to mean "later").
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
  const retryAfterSeconds =
    retryAfterMs === undefined ? undefined : Math.min(3600, Math.max(1, Math.ceil(retryAfterMs / 1000)));
  return unavailable(endpoint, `HTTP ${response.status}${oauthError}`, undefined, retryAfterSeconds);
}

/**
 * The server asked for a pause (429, or 503 with Retry-After): the caller is told when to come back, the
 * window's end (the server's Retry-After, or the gate's own back-off when it sent none).
 */
async function busyFrom(
  response: Response,
  endpoint: string,
  backoffUntil: number | undefined,
): Promise<GatewayError> {
  await response.body?.cancel();
  const now = Date.now();
  const requested = parseRetryAfter(response.headers.get('retry-after'), now);
  const until = backoffUntil ?? (requested === undefined ? undefined : now + requested);
  const retryAfterSeconds =
    until === undefined ? 1 : Math.min(3600, Math.max(1, Math.ceil((until - now) / 1000)));
  return new GatewayError(
    'ERR_AS_BUSY',
    `token endpoint ${endpoint} answered HTTP ${response.status}: it asked for a pause of ${retryAfterSeconds} s`,
    { retryAfterSeconds },
  );
}

function unavailable(
  endpoint: string,
  reason: string,
  cause?: unknown,
  retryAfterSeconds?: number,
): GatewayError {
  return new GatewayError('ERR_AS_UNAVAILABLE', `token endpoint ${endpoint} failed: ${reason}`, {
    cause,
    retryAfterSeconds,
  });
}

function networkFailure(endpoint: string, error: unknown): GatewayError {
  const name = (error as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return timedOut(endpoint, error);
  const code = (error as { cause?: { code?: string } }).cause?.code;
  return unavailable(
    endpoint,
    code ? `network error ${code}` : `network error (${(error as Error).message})`,
    error,
  );
}

function timedOut(endpoint: string, cause?: unknown): GatewayError {
  return new GatewayError('ERR_AS_TIMEOUT', `token endpoint ${endpoint} did not answer in time`, { cause });
}

function stringOr<T extends string | undefined>(first: unknown, second: unknown, fallback: T): string | T {
  if (typeof first === 'string') return first;
  if (typeof second === 'string') return second;
  return fallback;
}
