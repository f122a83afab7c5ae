import { Logger } from '@aws-lambda-powertools/logger';
import { formDecode } from '../config/client-id-rules.ts';
import {
  deployedAuthorizerCredentialFields,
  isCredentialHeader,
  isCredentialQueryParameter,
} from '../config/credential-fields.ts';

/** Keys whose values are never logged, wherever they appear in a log entry. */
const SENSITIVE_KEY =
  /^(access_?token|refresh_?token|id_?token|assertion|client_?assertion|client_?secret|secret|password|authorization|x-api-key|api_?key|private_?key|d|p|q|dp|dq|qi|k|subject_token|actor_token)$/i;

/** Form fields (the facade's body) and query parameters that carry a credential (RFC 6749, 7523, 8693). */
const SENSITIVE_FIELD =
  /^(access_token|refresh_token|id_token|assertion|client_assertion|client_secret|password|subject_token|actor_token)$/i;

/** A compact JWS/JWT anywhere in a string value (three base64url parts, header starting `eyJ`). */
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/** Replaces anything shaped like a JWT: text from elsewhere (a server's error description) may quote one. */
export function redactJwts(text: string): string {
  return text.replace(JWT_PATTERN, '[REDACTED JWT]');
}

/** Where the deployment's Lambda authorizer reads credentials: redacted like the listed ones. */
const AUTHORIZER = deployedAuthorizerCredentialFields();

/**
 * A JSON replacer for Powertools: the last line of defence. The code never logs secrets on purpose;
 * this catches what slips through (a token inside an error message, a JWK in a debug dump) and what
 * Powertools logs itself with `POWERTOOLS_LOGGER_LOG_EVENT=true`: the whole event, whose credential
 * headers (the list proxy mode never forwards), cookies, presigned query parameters and form or JSON
 * body fields are redacted by name.
 */
function redactingReplacer(key: string, value: unknown): unknown {
  if (key !== '' && value !== undefined && value !== null && isSensitiveName(key)) return '[REDACTED]';
  if (isBase64BodyHolder(value)) return { ...value, body: redactBase64Body(value.body) };
  if (key === 'rawQueryString' && typeof value === 'string') return redactQuery(value);
  if (key === 'body' && typeof value === 'string') return redactJwts(redactBody(value));
  if (typeof value === 'string') return redactJwts(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function isSensitiveName(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    SENSITIVE_KEY.test(lower) ||
    lower === 'cookies' ||
    isCredentialHeader(lower, AUTHORIZER) ||
    isCredentialQueryParameter(lower, AUTHORIZER)
  );
}

/** `a=1&X-Amz-Signature=...` (a query or a form) with every credential's value replaced; the rest as it was. */
function redactQuery(query: string): string {
  return query
    .split('&')
    .map((parameter) => {
      const equals = parameter.indexOf('=');
      const name = equals < 0 ? parameter : parameter.slice(0, equals);
      const decoded = formDecode(name);
      const sensitive = SENSITIVE_FIELD.test(decoded) || isCredentialQueryParameter(decoded, AUTHORIZER);
      return sensitive ? `${name}=[REDACTED]` : parameter;
    })
    .join('&');
}

/** An event (payload 2.0 or 1.0) whose body API Gateway base64-encoded (binary media types). */
function isBase64BodyHolder(value: unknown): value is { body: string; isBase64Encoded: true } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { isBase64Encoded?: unknown }).isBase64Encoded === true &&
    typeof (value as { body?: unknown }).body === 'string'
  );
}

/**
 * A base64 body redacted as its text would be, and encoded again (the event stays as it came). A body
 * that is not UTF-8 (EBCDIC, binary) cannot be read for credential fields, so it is left out.
 */
function redactBase64Body(body: string): string {
  const bytes = Buffer.from(body, 'base64');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return `[REDACTED: ${bytes.length} bytes that are not UTF-8]`;
  }
  return Buffer.from(redactJwts(redactBody(text)), 'utf8').toString('base64');
}

/** A request body as text: a JSON object's or a form's sensitive fields redacted (the facade's password). */
function redactBody(body: string): string {
  if (body.trimStart().startsWith('{')) {
    try {
      return JSON.stringify(JSON.parse(body), (key: string, value: unknown) =>
        key !== '' && value !== undefined && value !== null && isSensitiveName(key) ? '[REDACTED]' : value,
      );
    } catch {
      return body;
    }
  }
  return /^[^=&\s]+=/.test(body) ? redactQuery(body) : body;
}

/** The process-wide JSON logger (one per container, as Powertools intends). */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'jwt-bearer-gateway',
  jsonReplacerFn: redactingReplacer,
});

/** An error reduced to what is safe to log: names, codes and messages down the cause chain. */
export function describeError(error: unknown): Record<string, unknown> {
  const chain: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      chain.push(`${current.name}${typeof code === 'string' ? `[${code}]` : ''}: ${current.message}`);
      current = current.cause;
    } else {
      chain.push(typeof current === 'string' ? current : 'non-error value');
      break;
    }
  }
  return { error_chain: chain };
}
