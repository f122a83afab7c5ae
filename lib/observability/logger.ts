import { Logger } from '@aws-lambda-powertools/logger';

/** Keys whose values are never logged, wherever they appear in a log entry. */
const SENSITIVE_KEY =
  /^(access_?token|refresh_?token|id_?token|assertion|client_?assertion|client_?secret|secret|password|authorization|x-api-key|api_?key|private_?key|d|p|q|dp|dq|qi|k|subject_token)$/i;

/** A compact JWS/JWT anywhere in a string value (three base64url parts, header starting `eyJ`). */
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/** Replaces anything shaped like a JWT: text from elsewhere (a server's error description) may quote one. */
export function redactJwts(text: string): string {
  return text.replace(JWT_PATTERN, '[REDACTED JWT]');
}

/**
 * A JSON replacer for Powertools: the last line of defence. The code never logs secrets on purpose;
 * this catches what slips through (a token inside an error message, a JWK in a debug dump).
 */
function redactingReplacer(key: string, value: unknown): unknown {
  if (key !== '' && SENSITIVE_KEY.test(key) && value !== undefined && value !== null) return '[REDACTED]';
  if (typeof value === 'string') return redactJwts(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
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
