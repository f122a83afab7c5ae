import * as oauth from 'oauth4webapi';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Plain http is allowed to loopback addresses (tests, the demo server) or where the configuration says so. */
export function allowsInsecure(url: string, configured: boolean): boolean {
  const parsed = new URL(url);
  return parsed.protocol === 'https:' || configured || LOOPBACK_HOSTS.has(parsed.hostname);
}

export interface HttpSettings {
  readonly timeoutMs: number;
  readonly allowInsecureHttp: boolean;
  /** Swappable transport (tests, instrumentation); defaults to the global fetch. */
  readonly fetch?: typeof fetch | undefined;
}

/** oauth4webapi request options for one attempt: a timeout, the transport, and the http policy. */
export function requestOptions<Method extends string, Body>(
  url: string,
  settings: HttpSettings,
): oauth.HttpRequestOptions<Method, Body> {
  // Our fetch takes any RequestInit, so it fits every oauth4webapi call's narrower signature.
  const transport = settings.fetch as oauth.HttpRequestOptions<Method, Body>[typeof oauth.customFetch];
  return {
    signal: AbortSignal.timeout(settings.timeoutMs),
    ...(transport ? { [oauth.customFetch]: transport } : {}),
    ...(allowsInsecure(url, settings.allowInsecureHttp) ? { [oauth.allowInsecureRequests]: true } : {}),
  };
}
