import type { TargetConfig } from '../config/schema.ts';

/** The grant_type value of each grant a target can use. */
export const GRANT_TYPE_URIS: Readonly<Record<TargetConfig['grant'], string>> = {
  /** @see https://www.rfc-editor.org/rfc/rfc7523#section-2.1 */
  'jwt-bearer': 'urn:ietf:params:oauth:grant-type:jwt-bearer',
  /** @see https://www.rfc-editor.org/rfc/rfc8693#section-2.1 */
  'token-exchange': 'urn:ietf:params:oauth:grant-type:token-exchange',
  /** @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4 */
  client_credentials: 'client_credentials',
  /** @see https://www.rfc-editor.org/rfc/rfc6749#section-4.3 */
  password: 'password',
};

/**
 * Whether a grant acts for a user with an assertion the gateway signs (`jwt-bearer`, `token-exchange`):
 * then it needs a signing key and a subject, and the subject is mapped into the assertion's `sub`. The
 * one place that says which grants these are (configuration checks, policy, exchanger, CLI).
 */
export function signsAssertion(grant: TargetConfig['grant']): boolean {
  return grant === 'jwt-bearer' || grant === 'token-exchange';
}

const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/** The grant-specific parameters around a signed assertion (or the password grant's credentials). */
export function grantParameters(
  grant: TargetConfig['grant'],
  material: { assertion?: string; username?: string; password?: string },
): Record<string, string> {
  switch (grant) {
    case 'jwt-bearer':
      return { assertion: required(material.assertion) };
    case 'token-exchange':
      return { subject_token: required(material.assertion), subject_token_type: JWT_TOKEN_TYPE };
    case 'password':
      return { username: required(material.username), password: required(material.password) };
    case 'client_credentials':
      return {};
  }
}

function required(value: string | undefined): string {
  if (value === undefined) throw new TypeError('grant material missing');
  return value;
}
