import type { CacheOutcome } from '../deadline.ts';

/**
 * One structured event per request outcome: who asked, for whom, what the assertion was (by
 * `jti` and `aud`, never the JWT), and how it ended. Never the token, the assertion or a secret.
 */
export interface AuditEvent {
  readonly request_id: string;
  /**
   * `issue` (POST /v1/token, POST /oauth2/{target}/token), `invalidate` (DELETE /v1/token or POST
   * /v1/token/invalidate), `call` (one proxied call, /v1/call, its tokens and 401 retry included): exactly
   * one event per request (lib/audited.ts).
   */
  readonly action: 'issue' | 'invalidate' | 'call';
  readonly caller: string | null;
  readonly caller_via: string | null;
  readonly target: string | null;
  readonly subject: string | null;
  readonly mapped_subject: string | null;
  readonly assertion_jti: string | null;
  readonly assertion_aud: string | null;
  /** `success`, or the API error code. */
  readonly outcome: string;
  /** The authorization server's own error code, when it refused. */
  readonly upstream_error: string | null;
  readonly cache: CacheOutcome;
  readonly latency_ms: number;
  /** `call` only: the proxied API's method and normalised path (no query: it may carry personal data). */
  readonly api_request?: string | null;
  /** `call` only: the status the proxied API answered last, or null when it never answered. */
  readonly api_status?: number | null;
  /** `call` only: the API refused the first token with 401, it was replaced and the call sent again. */
  readonly token_retried?: boolean;
  /**
   * `call` only: the `jti` of the verified identity token (`x-subject-token`) that proved the subject
   * (`""` when it had none); null when the caller named the subject, or no token was verified.
   */
  readonly identity_token_jti?: string | null;
}

/** The audit port. */
export interface AuditLog {
  record(event: AuditEvent): void;
}
