// Recording every token endpoint request, so tests can assert on what the gateway sent.
import type { KoaContextWithOIDC } from 'oidc-provider';

export interface RecordedTokenRequest {
  grantType: string;
  /** The client id as authenticated; undefined when authentication failed or never happened. */
  clientId?: string;
  /** The form parameters as sent, `client_secret` and `password` redacted; assertions are kept. */
  params: Record<string, string>;
  /** The HTTP status of the answer; 0 while the request is still being processed. */
  status: number;
  error?: string;
}

/** Form parameters never kept in `tokenRequests`: they are credentials, not protocol data worth asserting on. */
const REDACTED_PARAMS = new Set(['client_secret', 'password']);

/**
 * Koa middleware (installed with provider.use, so it wraps oidc-provider's router) recording every token
 * endpoint call once oidc-provider has answered it, errors included.
 */
export function recordTokenRequests(tokenPath: string, into: RecordedTokenRequest[]) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => {
    if (ctx.method !== 'POST' || ctx.path !== tokenPath) return next();
    // Reserve the slot on arrival so concurrent requests are listed in the order they came in.
    const record: RecordedTokenRequest = { grantType: '', params: {}, status: 0 };
    into.push(record);
    await next();
    const params = formParams(ctx.oidc?.body);
    const body = ctx.body as { error?: string } | undefined;
    const error = ctx.status >= 400 ? body?.error : undefined;
    Object.assign(record, {
      grantType: params.grant_type ?? '',
      // oidc-provider attaches the client before checking its credentials; only report it when they held.
      clientId: error === 'invalid_client' ? undefined : ctx.oidc?.client?.clientId,
      params,
      status: ctx.status,
      ...(error === undefined ? {} : { error }),
    });
  };
}

function formParams(body: Record<string, unknown> | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, raw] of Object.entries(body ?? {})) {
    // A repeated parameter is an error oidc-provider reports; its first value is enough to record.
    const value = Array.isArray(raw) ? String(raw[0]) : String(raw);
    params[name] = REDACTED_PARAMS.has(name) ? '[redacted]' : value;
  }
  return params;
}
