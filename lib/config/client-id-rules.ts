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
 * id must name one caller only: with two, which caller a request is would depend on its secret alone.
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
  const clientIds = new Map<string, string>();
  for (const [id, caller] of Object.entries(config.callers)) {
    caller.oauth.clients.forEach((client, index) => {
      const other = clientIds.get(client.clientId);
      if (other !== undefined) {
        const message = `client id already used by caller "${other}"`;
        issues.push({ path: ['callers', id, 'oauth', 'clients', index, 'clientId'], message });
      }
      clientIds.set(client.clientId, id);
    });
  }
  return issues;
}
