/**
 * The cross-field rules that read plain-string fields a `${env:NAME}` placeholder may fill: the schema
 * runs them (schema.ts), and the cold start runs them again once the placeholders are filled
 * (compiled-config.ts), since the build saw only distinct stand-ins without ":". Free of zod, which the
 * cold start does not load.
 */

export interface ClientIdRuleIssue {
  readonly path: Array<string | number>;
  readonly message: string;
}

/** Only what the rules read. */
export interface ClientIdFields {
  readonly targets: Readonly<
    Record<
      string,
      {
        readonly clientId: string;
        readonly clientAuthentication: { readonly method: string; readonly encoding?: string };
      }
    >
  >;
  readonly callers: Readonly<
    Record<string, { readonly oauth: { readonly clients: ReadonlyArray<{ readonly clientId: string }> } }>
  >;
}

/**
 * A target's client id sent raw in HTTP Basic must not hold ":" (RFC 7617 section 2), and a facade client
 * id must name one caller only, as sent and as form-decoded: with two, which caller a request is would
 * depend on its secret alone, and a caller could present the other's id in the other encoding.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7617#section-2
 */
export function clientIdIssues(config: ClientIdFields): ClientIdRuleIssue[] {
  const issues: ClientIdRuleIssue[] = [];
  for (const [id, target] of Object.entries(config.targets)) {
    const auth = target.clientAuthentication;
    if (auth.method === 'client_secret_basic' && auth.encoding === 'raw' && target.clientId.includes(':')) {
      const message = 'a client id with ":" cannot be sent raw in Basic (RFC 7617): use encoding form';
      issues.push({ path: ['targets', id, 'clientId'], message });
    }
  }
  // A presented client id is matched as sent and as form-decoded (RFC 6749 2.3.1, see
  // caller-credentials.ts), so two ids name one client when one decodes to the other or both decode alike
  // (`ZDA` and `ZD%41`, `a b` and `a+b`): keyed by the decoded value, and the raw value too.
  const clientIds = new Map<string, string>();
  const rawIds = new Map<string, string>();
  for (const [id, caller] of Object.entries(config.callers)) {
    const own = new Set<string>();
    caller.oauth.clients.forEach((client, index) => {
      const readings = [...new Set([client.clientId, formDecode(client.clientId)])];
      const other = readings.map((reading) => clientIds.get(reading)).find((name) => name !== undefined);
      if (other !== undefined && other !== id) {
        const same = rawIds.get(client.clientId) === other;
        const message = `client id already used by caller "${other}"${same ? '' : ' (once form-decoded)'}`;
        issues.push({ path: ['callers', id, 'oauth', 'clients', index, 'clientId'], message });
      }
      for (const reading of readings) own.add(reading);
      if (!rawIds.has(client.clientId)) rawIds.set(client.clientId, id);
    });
    for (const reading of own) if (!clientIds.has(reading)) clientIds.set(reading, id);
  }
  return issues;
}

/**
 * application/x-www-form-urlencoded decoding of one value, as the facade reads a Basic client id; the
 * value itself if it is not valid.
 */
export function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
