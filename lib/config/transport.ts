const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a request to this URL may go out: https always; plain http only to a loopback address (tests,
 * the demo server) or where the configuration allows it (development only).
 */
export function transportAllowed(url: string, allowInsecureHttp: boolean): boolean {
  const parsed = URL.parse(url);
  if (!parsed) return true; // not a URL at all: the schema reports that, not this
  return parsed.protocol === 'https:' || allowInsecureHttp || LOOPBACK_HOSTS.has(parsed.hostname);
}
