import * as z from 'zod/mini';
import { MAX_IDENTITY_TOKEN_LENGTH } from '../policy/identity-token.ts';
import { tokenRequest } from '../token-request.ts';
import { GrantRequestError } from './grant-request.ts';

/**
 * Caps on the facade's own parameters. 256: the fields z/OS Connect takes them from are 256 bytes
 * (`BAQ-OAUTH-PASSWORD`, `BAQ-OAUTH-CLIENTID`, `BAQ-OAUTH-CLIENT-SECRET` in copybook BAQRINFO,
 * zosConnect-2.0; docs/MAINFRAME.md), and a caller's own client id and secret are the gateway's
 * configuration, never longer. URIs of grant and token types: 64.
 */
const FORM_LIMITS = { password: 256, clientId: 256, clientSecret: 256, uri: 64 } as const;

const text = (maxLength: number, description: string) =>
  z.string().check(z.maxLength(maxLength), z.describe(description));

/**
 * One of a few URIs. Its length is checked first, so an oversized value is refused as too long (as any
 * parameter) before the grant resolution says which values it takes; documented as the enum.
 */
const uri = <const T extends readonly [string, ...string[]]>(values: T, description?: string) =>
  z.pipe(
    z.string().check(z.maxLength(FORM_LIMITS.uri)),
    z.enum(values).check(z.meta({ maxLength: FORM_LIMITS.uri, ...(description ? { description } : {}) })),
  );

/**
 * `POST /oauth2/{target}/token`, RFC 6749 4.3.2 / 4.4.2 / RFC 8693 2.1: the form parameters, written
 * once. The handler validates every request with it (lengths and characters: a parameter over its
 * documented length is `invalid_request`), and docs/openapi*.json are generated from it
 * (lib/http/openapi.ts), so the documented caps are the enforced ones. Which parameters a grant takes,
 * and what their values mean, is grant resolution's (grant-request.ts). In `zod/mini`, as the token
 * request it reuses (lib/token-request.ts says why).
 */
const shape = {
  grant_type: uri(
    ['password', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    'password or client_credentials (what z/OS Connect sends), or token-exchange.',
  ),
  username: z.optional(
    tokenRequest.shape.subject.check(
      z.describe('grant_type=password: the end user (BAQR-OAUTH-USERNAME), e.g. the RACF user id.'),
    ),
  ),
  password: z.optional(
    text(
      FORM_LIMITS.password,
      'grant_type=password: required by RFC 6749 but never forwarded; ignored, or compared with a ' +
        'fixed shared value. Never the user password.',
    ),
  ),
  subject: z.optional(
    tokenRequest.shape.subject.check(
      z.describe('grant_type=client_credentials: the end user, via BAQR-OAUTH-CUSTOM-PARMS subject=...'),
    ),
  ),
  scope: z.optional(
    tokenRequest.shape.scope.def.innerType.check(
      z.describe('BAQR-OAUTH-SCOPE; the target default when omitted.'),
    ),
  ),
  audience: z.optional(
    tokenRequest.shape.audience.def.innerType.check(z.describe('BAQR-OAUTH-AUDIENCE, if allowed.')),
  ),
  resource: z.optional(
    tokenRequest.shape.resource.def.innerType.check(z.describe('BAQR-OAUTH-RESOURCE, if allowed.')),
  ),
  client_id: z.optional(
    text(
      FORM_LIMITS.clientId,
      'The caller OAuth client id, when not sent as HTTP Basic (BAQR-OAUTH-CLIENT-ID).',
    ),
  ),
  client_secret: z.optional(
    text(FORM_LIMITS.clientSecret, 'Its secret, when not sent as HTTP Basic (BAQR-OAUTH-CLIENT-SECRET).'),
  ),
  subject_token: z.optional(
    text(
      MAX_IDENTITY_TOKEN_LENGTH,
      'token-exchange: a JWT signed by the caller trusted issuer for the end user.',
    ),
  ),
  subject_token_type: z.optional(
    uri(['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token']),
  ),
  requested_token_type: z.optional(uri(['urn:ietf:params:oauth:token-type:access_token'])),
};

/** The form as documented: no parameter besides these. */
export const oauthTokenForm = z.strictObject(shape);

/** The same parameters as validated: unknown names and unsupported values are grant resolution's to refuse. */
const validated = z.object(shape);

/**
 * Refuses a form whose parameters break their documented limits, as `invalid_request` naming the
 * parameter (never its value: it may be a secret).
 */
export function validateTokenForm(form: ReadonlyMap<string, string>): void {
  const result = validated.safeParse(Object.fromEntries(form));
  if (result.success) return;
  // An unsupported grant or token type is refused by grant resolution with its own RFC 6749 code.
  const issue = result.error.issues.find((candidate) => candidate.code !== 'invalid_value');
  if (!issue) return;
  const field = issue.path.join('.') || 'form';
  const reason =
    issue.code === 'too_big'
      ? `longer than ${(issue as { maximum: number | bigint }).maximum} characters`
      : issue.code === 'invalid_format'
        ? 'contains characters that are not allowed'
        : issue.message;
  throw new GrantRequestError('invalid_request', `${field}: ${reason}`);
}
