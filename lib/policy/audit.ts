/**
 * One structured event per token request outcome: who asked, for whom, what the assertion was (by
 * `jti` and `aud`, never the JWT), and how it ended. Never the token, the assertion or a secret.
 */
export interface AuditEvent {
  readonly request_id: string;
  /** `issue` (POST /v1/token) or `invalidate` (DELETE /v1/token). */
  readonly action: 'issue' | 'invalidate';
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
  readonly cache: 'hit' | 'miss' | 'refresh' | 'stale' | 'collapsed' | 'bypass';
  readonly latency_ms: number;
}

/** The audit port. */
export interface AuditLog {
  record(event: AuditEvent): void;
}
