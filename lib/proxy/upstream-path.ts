import { GatewayError } from '../errors.ts';

/** Where proxied calls live in the gateway's own path space: `/v1/call/{target}/{path+}`. */
const CALL_ROUTE_PREFIX = '/v1/call/';

const MAX_PATH_LENGTH = 2048;
const MAX_QUERY_LENGTH = 4096;

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** RFC 3986 pchar, with `%` for percent-encoded octets (checked separately). */
const SEGMENT_CHARACTERS = /^[A-Za-z0-9._~!$&'()*+,;=:@%-]*$/;
/** RFC 3986 query characters, with `%` for percent-encoded octets (checked separately). */
const QUERY_CHARACTERS = /^[A-Za-z0-9._~!$&'()*+,;=:@/?%-]*$/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
/** `%25` followed by two hex digits: a percent-encoding encoded again, which some servers decode twice. */
const DOUBLE_ENCODED = /%[0-9A-Fa-f]{2}/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\x00-\x1F\x7F]/;
/** `.` and `..`, also with a path parameter (`..;x`), which some servers strip before resolving. */
const DOT_SEGMENT = /^\.\.?(;.*)?$/;

export interface CallPath {
  /** The target named in the path. */
  readonly target: string;
  /**
   * The path below the target, starting with `/`, in its RFC 3986 6.2.2 normal form (unreserved
   * characters decoded, hex digits upper-case, everything else as sent): what the allow-list and the
   * audit log see. Equivalent to `rawPath` for any RFC 3986 server.
   */
  readonly path: string;
  /** The same path exactly as sent, once checked: what the API gets (RFC 3986 6.2.2.2). */
  readonly rawPath: string;
  /** The query string as sent (validated), without `?`; empty when there is none. */
  readonly query: string;
}

/**
 * Takes `/v1/call/{target}/{path}` apart and normalises the path so that it can only name something
 * below the target's base path: a dot segment, an encoded slash, backslash or dot, an empty segment
 * (`//host`), a double encoding, a control character or invalid percent-encoding is refused with
 * ERR_REQUEST_INVALID. What passes is forwarded as sent: an encoded reserved character (`%3B`, `%3D`,
 * `%2C`) stays encoded, or a Tomcat, Jetty or Spring API would read a literal `;` as a path parameter
 * (RFC 3986 6.2.2.2); the allow-list sees the normal form. Works on the raw path as API Gateway passes
 * it (`rawPath`), never on a form some other layer has already decoded.
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-3.3
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4
 */
export function parseCallPath(rawPath: string, rawQuery: string): CallPath {
  // API Gateway puts a non-default stage name in front; the route's own prefix is what counts.
  const start = rawPath.indexOf(CALL_ROUTE_PREFIX);
  if (start < 0) throw invalid('the path does not start with /v1/call/{target}/');
  const rest = rawPath.slice(start + CALL_ROUTE_PREFIX.length);
  const slash = rest.indexOf('/');
  const target = slash < 0 ? rest : rest.slice(0, slash);
  if (!TARGET_NAME.test(target)) throw invalid('the target name is not valid');
  const below = slash < 0 ? '/' : rest.slice(slash);
  return { target, path: normalisePath(below), rawPath: below, query: validateQuery(rawQuery) };
}

/**
 * The RFC 3986 6.2.2 normal form of a raw (percent-encoded) absolute path: percent-encoded unreserved
 * characters decoded, the other encodings' hex upper-case; throws ERR_REQUEST_INVALID.
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-6.2.2
 */
export function normalisePath(raw: string): string {
  if (raw.length > MAX_PATH_LENGTH) throw invalid(`the path exceeds ${MAX_PATH_LENGTH} characters`);
  if (!raw.startsWith('/')) throw invalid('the path must start with /');
  const segments = raw.slice(1).split('/');
  return `/${segments.map((segment, index) => canonicalSegment(segment, index === segments.length - 1)).join('/')}`;
}

function canonicalSegment(raw: string, last: boolean): string {
  // An empty last segment is a trailing slash; anywhere else it is `//`, which some clients read as a host.
  if (raw === '') {
    if (last) return '';
    throw invalid('the path contains an empty segment (//)');
  }
  if (!SEGMENT_CHARACTERS.test(raw))
    throw invalid('the path contains characters that must be percent-encoded');
  if (BAD_PERCENT.test(raw)) throw invalid('the path contains an invalid percent-encoding');
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw invalid('the path is not valid UTF-8 once decoded');
  }
  if (decoded.includes('/') || decoded.includes('\\'))
    throw invalid('the path contains an encoded slash or backslash');
  if (CONTROL.test(decoded)) throw invalid('the path contains a control character');
  if (DOT_SEGMENT.test(decoded)) throw invalid('the path contains a . or .. segment');
  if (DOUBLE_ENCODED.test(decoded)) throw invalid('the path contains a double percent-encoding');
  return normalSegment(raw);
}

/** RFC 3986 6.2.2.1 and 6.2.2.2: upper-case hex, unreserved characters decoded, the rest as it is. */
function normalSegment(raw: string): string {
  return raw.replace(/%([0-9A-Fa-f]{2})/g, (encoded, hex: string) => {
    const character = String.fromCharCode(Number.parseInt(hex, 16));
    return /^[A-Za-z0-9._~-]$/.test(character) ? character : encoded.toUpperCase();
  });
}

function validateQuery(raw: string): string {
  if (raw.length > MAX_QUERY_LENGTH) throw invalid(`the query exceeds ${MAX_QUERY_LENGTH} characters`);
  if (!QUERY_CHARACTERS.test(raw))
    throw invalid('the query contains characters that must be percent-encoded');
  if (BAD_PERCENT.test(raw)) throw invalid('the query contains an invalid percent-encoding');
  return raw;
}

/**
 * Whether a normalised path is inside one of the allowed prefixes, on segment boundaries: `/accounts`
 * admits `/accounts` and `/accounts/7`, never `/accountsX`; `/accounts/` admits only what is below it.
 */
export function pathAllowed(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some(
    (prefix) => path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`),
  );
}

/** Where a proxied call goes: the API's origin, and the request target exactly as it is sent. */
export interface UpstreamTarget {
  readonly url: URL;
  /** Path and query as the caller sent them below the base path; `url` would re-encode a `'` in the query. */
  readonly requestTarget: string;
}

/**
 * The upstream URL: the configured base URL's origin and path, then the checked path and query as sent.
 * The host never comes from the request; the result is checked once more against the base, so no later
 * change to the checks can let a call climb out.
 */
export function upstreamUrl(baseUrl: string, call: Pick<CallPath, 'rawPath' | 'query'>): UpstreamTarget {
  const base = new URL(baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const requestTarget = `${basePath}${call.rawPath}${call.query ? `?${call.query}` : ''}`;
  const url = new URL(`${base.origin}${requestTarget}`);
  if (url.origin !== base.origin || url.pathname !== `${basePath}${call.rawPath}`) {
    throw invalid('the path does not stay below the API base URL');
  }
  return { url, requestTarget };
}

function invalid(message: string): GatewayError {
  return new GatewayError('ERR_REQUEST_INVALID', message);
}
