import * as oauth from 'oauth4webapi';
import { transportAllowed } from '../config/transport.ts';
import { remainingMs } from '../deadline.ts';
import { boundedFetch } from './bounded-fetch.ts';

export interface HttpSettings {
  readonly timeoutMs: number;
  readonly allowInsecureHttp: boolean;
  /** Swappable transport (tests, instrumentation); defaults to the global fetch. */
  readonly fetch?: typeof fetch | undefined;
}

/**
 * oauth4webapi request options for one attempt: a timeout (never past the request's deadline), the
 * transport, and the http policy.
 */
export function requestOptions<Method extends string, Body>(
  url: string,
  settings: HttpSettings,
): oauth.HttpRequestOptions<Method, Body> {
  // Every answer is read through a size bound before oauth4webapi parses it. Our fetch takes any
  // RequestInit, so it fits every oauth4webapi call's narrower signature.
  const transport = boundedFetch(settings.fetch ?? fetch) as oauth.HttpRequestOptions<
    Method,
    Body
  >[typeof oauth.customFetch];
  return {
    signal: AbortSignal.timeout(Math.max(1, Math.min(settings.timeoutMs, remainingMs()))),
    [oauth.customFetch]: transport,
    ...(transportAllowed(url, settings.allowInsecureHttp) ? { [oauth.allowInsecureRequests]: true } : {}),
  };
}
