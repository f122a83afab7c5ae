import { parseRetryAfter } from '../oauth/retry.ts';

/** What an answer said about the server's own limits: when to stop, and how fast to go until then. */
export interface AnnouncedLimits {
  /** Epoch ms until which the server asks for no request (Retry-After, or a used-up limit's reset). */
  readonly backoffUntil?: number | undefined;
  /** Requests left in the current window and when it resets (epoch ms), to pace by. */
  readonly remaining?: { readonly count: number; readonly resetAt: number } | undefined;
}

/** Longest window read from a server's header: an hour is long enough to mean "later". */
const MAX_WINDOW_MS = 3_600_000;
/** Okta's reset is epoch seconds, the IETF fields' are delta seconds: above this, a number is a date. */
const EPOCH_SECONDS_FLOOR = 1_000_000_000;

/**
 * Reads `Retry-After` (RFC 9110 10.2.3) on 429 and 503, and the rate-limit fields servers send on every
 * answer: Okta's `X-Rate-Limit-Limit` / `-Remaining` / `-Reset` (reset in epoch seconds) and the IETF
 * draft's `RateLimit: "policy";r=<remaining>;t=<seconds>` (draft-ietf-httpapi-ratelimit-headers-08) or its
 * earlier `RateLimit-Remaining` / `RateLimit-Reset` fields. Values are bounded and anything unparsable is
 * ignored.
 * @see https://developer.okta.com/docs/reference/rl-best-practices/
 * @see https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/
 */
export function announcedLimits(status: number, headers: Headers, now: number): AnnouncedLimits {
  let backoffUntil: number | undefined;
  if (status === 429 || status === 503) {
    const retryAfter = parseRetryAfter(headers.get('retry-after'), now);
    if (retryAfter !== undefined) backoffUntil = now + Math.min(retryAfter, MAX_WINDOW_MS);
  }
  const remaining = oktaRemaining(headers, now) ?? ietfRemaining(headers, now);
  // A used-up window is a back-off until it resets (a 429 would follow otherwise).
  if (remaining && remaining.count === 0) backoffUntil = Math.max(backoffUntil ?? 0, remaining.resetAt);
  return { backoffUntil, remaining };
}

function oktaRemaining(headers: Headers, now: number) {
  const count = parseCount(headers.get('x-rate-limit-remaining'));
  const reset = parseCount(headers.get('x-rate-limit-reset'));
  if (count === undefined || reset === undefined) return undefined;
  return { count, resetAt: resetTime(reset, now) };
}

function ietfRemaining(headers: Headers, now: number) {
  const field = headers.get('ratelimit');
  if (field) {
    // Structured field (RFC 8941 list): the first item's r (remaining) and t (seconds to reset).
    const r = /;\s*r=(\d{1,9})/.exec(field)?.[1];
    const t = /;\s*t=(\d{1,9})/.exec(field)?.[1];
    if (r !== undefined && t !== undefined) return { count: Number(r), resetAt: resetTime(Number(t), now) };
    // Draft-03 style: `limit=100, remaining=50, reset=5`.
    const remaining = /remaining=(\d{1,9})/.exec(field)?.[1];
    const reset = /reset=(\d{1,9})/.exec(field)?.[1];
    if (remaining !== undefined && reset !== undefined)
      return { count: Number(remaining), resetAt: resetTime(Number(reset), now) };
  }
  const count = parseCount(headers.get('ratelimit-remaining'));
  const reset = parseCount(headers.get('ratelimit-reset'));
  if (count === undefined || reset === undefined) return undefined;
  return { count, resetAt: resetTime(reset, now) };
}

function parseCount(value: string | null): number | undefined {
  const trimmed = value?.trim();
  return trimmed && /^\d{1,12}$/.test(trimmed) ? Number(trimmed) : undefined;
}

function resetTime(value: number, now: number): number {
  const at = value >= EPOCH_SECONDS_FLOOR ? value * 1000 : now + value * 1000;
  return Math.min(Math.max(at, now), now + MAX_WINDOW_MS);
}
