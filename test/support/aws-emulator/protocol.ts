// The AWS JSON 1.1 protocol layer both emulated services share: AWS's errors and their HTTP status, SigV4
// presence, the request body, the test controls (injected failures, latency, rate limits) and coral-style
// input validation. Facts and sources: the header of ../aws-emulator.ts.
import type { IncomingMessage } from 'node:http';
import type { AwsEmulatorCall } from '../aws-emulator.ts';

// ---------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------

/** An error AWS would answer with; `message` undefined means AWS sends none (e.g. InvalidCiphertextException). */
export class AwsError extends Error {
  readonly type: string;
  readonly awsMessage: string | undefined;
  constructor(type: string, message?: string) {
    super(message ?? type);
    this.type = type;
    this.awsMessage = message;
  }
}

/** Errors answered with a 5xx; every other AWS error on these services is a 400 (see the file header). */
const SERVER_ERROR_STATUS: Readonly<Record<string, number>> = {
  InternalFailure: 500,
  ServiceUnavailable: 503,
  KMSInternalException: 500,
  DependencyTimeoutException: 500,
  KeyUnavailableException: 500,
  InternalServiceError: 500,
};

/** Messages for errors injected with `failNext`, close to what AWS writes. */
const INJECTED_ERROR_MESSAGES: Readonly<Record<string, string>> = {
  ThrottlingException: 'Rate exceeded',
  AccessDeniedException:
    'User: arn:aws:iam::000000000000:user/test is not authorized to perform this operation',
  InternalFailure: 'The request processing has failed because of an unknown error, exception or failure.',
  ServiceUnavailable: 'Service is unavailable',
};

export function statusOf(errorType: string): number {
  return SERVER_ERROR_STATUS[errorType] ?? 400;
}

/** The coral-style text AWS uses for request-shape violations. */
export function validationError(detail: string): AwsError {
  return new AwsError('ValidationException', `1 validation error detected: ${detail}`);
}

// ---------------------------------------------------------------------------------------------------------
// HTTP / protocol
// ---------------------------------------------------------------------------------------------------------

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

/** AWS authenticates before anything else; the signature itself is not verified here. */
export function requireSigV4(authorization: string | undefined): void {
  if (authorization === undefined || authorization === '') {
    throw new AwsError('MissingAuthenticationTokenException', 'Request is missing Authentication Token');
  }
  if (!authorization.startsWith('AWS4-HMAC-SHA256 ')) {
    throw new AwsError(
      'IncompleteSignatureException',
      `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.`,
    );
  }
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text === '' ? '{}' : text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------
// Test controls
// ---------------------------------------------------------------------------------------------------------

export class Controls {
  readonly calls: AwsEmulatorCall[] = [];
  private readonly failures = new Map<string, { errorName: string; remaining: number }[]>();
  private readonly latencies = new Map<string, number>();
  private readonly pending = new Set<PendingResponse>();

  failNext(operation: string, errorName: string, times: number): void {
    if (times < 1) return;
    const queue = this.failures.get(operation) ?? [];
    queue.push({ errorName, remaining: times });
    this.failures.set(operation, queue);
  }

  private readonly rateLimits = new Map<string, { perSecond: number; accepted: number[] }>();

  setRateLimit(operation: string, perSecond: number): void {
    if (perSecond > 0) this.rateLimits.set(operation, { perSecond, accepted: [] });
    else this.rateLimits.delete(operation);
  }

  throwInjectedFailure(operation: string): void {
    const limit = this.rateLimits.get(operation);
    if (limit) {
      const now = performance.now();
      while (limit.accepted.length > 0 && now - limit.accepted[0]! >= 1000) limit.accepted.shift();
      if (limit.accepted.length >= limit.perSecond) {
        throw new AwsError('ThrottlingException', INJECTED_ERROR_MESSAGES.ThrottlingException);
      }
      limit.accepted.push(now);
    }
    const queue = this.failures.get(operation);
    const next = queue?.[0];
    if (!queue || !next) return;
    next.remaining -= 1;
    if (next.remaining <= 0) queue.shift();
    throw new AwsError(
      next.errorName,
      INJECTED_ERROR_MESSAGES[next.errorName] ?? `Injected ${next.errorName}`,
    );
  }

  setLatency(operation: string, ms: number): void {
    if (ms > 0) this.latencies.set(operation, ms);
    else this.latencies.delete(operation);
  }

  async delay(operation: string): Promise<void> {
    const ms = this.latencies.get(operation);
    if (!ms) return;
    await new Promise<void>((resolve) => {
      const entry: PendingResponse = { timer: setTimeout(() => this.release(entry), ms), resolve };
      this.pending.add(entry);
    });
  }

  /** Release delayed responses so `close()` does not wait for their timers. */
  cancelPendingResponses(): void {
    for (const entry of [...this.pending]) this.release(entry);
  }

  private release(entry: PendingResponse): void {
    clearTimeout(entry.timer);
    this.pending.delete(entry);
    entry.resolve();
  }
}

interface PendingResponse {
  timer: NodeJS.Timeout;
  resolve: () => void;
}

// ---------------------------------------------------------------------------------------------------------
// Input validation (coral-style messages, member names in lowerCamelCase as AWS reports them)
// ---------------------------------------------------------------------------------------------------------

export type Output = Record<string, unknown>;

function memberName(field: string): string {
  return field.charAt(0).toLowerCase() + field.slice(1);
}

export function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new AwsError('SerializationException', `Expected a string for ${field}`);
  }
  return value;
}

export function requiredString(input: Record<string, unknown>, field: string): string {
  const value = optionalString(input, field);
  if (value === undefined) {
    throw validationError(
      `Value null at '${memberName(field)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

export function optionalEnum<T extends string>(
  input: Record<string, unknown>,
  field: string,
  allowed: readonly T[],
): T | undefined {
  const value = optionalString(input, field);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw validationError(
      `Value '${value}' at '${memberName(field)}' failed to satisfy constraint: ` +
        `Member must satisfy enum value set: [${allowed.join(', ')}]`,
    );
  }
  return value as T;
}

export function requiredEnum<T extends string>(
  input: Record<string, unknown>,
  field: string,
  allowed: readonly T[],
): T {
  requiredString(input, field);
  return optionalEnum(input, field, allowed) as T;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Blobs travel base64-encoded in JSON; length limits apply to the decoded bytes, as in the model. */
export function optionalBlob(
  input: Record<string, unknown>,
  field: string,
  limits: { min: number; max: number },
): Buffer | undefined {
  const text = optionalString(input, field);
  if (text === undefined) return undefined;
  if (!BASE64.test(text)) throw new AwsError('SerializationException', `Invalid base64 in ${field}`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length < limits.min) {
    throw validationError(
      `Value at '${memberName(field)}' failed to satisfy constraint: ` +
        `Member must have length greater than or equal to ${limits.min}`,
    );
  }
  if (bytes.length > limits.max) {
    throw validationError(
      `Value at '${memberName(field)}' failed to satisfy constraint: ` +
        `Member must have length less than or equal to ${limits.max}`,
    );
  }
  return bytes;
}

export function requiredBlob(
  input: Record<string, unknown>,
  field: string,
  limits: { min: number; max: number },
): Buffer {
  const bytes = optionalBlob(input, field, limits);
  if (bytes === undefined) {
    throw validationError(
      `Value null at '${memberName(field)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return bytes;
}

export function optionalInteger(
  input: Record<string, unknown>,
  field: string,
  range: { min: number; max: number },
): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new AwsError('SerializationException', `Expected an integer for ${field}`);
  }
  if (value < range.min || value > range.max) {
    const bound =
      value < range.min ? `greater than or equal to ${range.min}` : `less than or equal to ${range.max}`;
    throw validationError(
      `Value '${value}' at '${memberName(field)}' failed to satisfy constraint: Member must have value ${bound}`,
    );
  }
  return value;
}

export function optionalStringMap(input: Record<string, unknown>, field: string): Record<string, string> {
  const value = input[field];
  if (value === undefined || value === null) return {};
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new AwsError('SerializationException', `Expected a map of strings for ${field}`);
  }
  return value as Record<string, string>;
}

/** The account every emulated resource belongs to. */
export const ACCOUNT_ID = '000000000000';

export const epochSeconds = (ms: number): number => ms / 1000;
