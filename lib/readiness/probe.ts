import { isGatewayError } from '../errors.ts';

/** One dependency the token function needs, checked by a real call that honours `signal`. */
export interface DependencyCheck {
  /** What it checks, stable for monitors: `signing_key:blue`, `secret:targets.okta.clientAuthentication.clientSecret`, `table`, `target:okta`. */
  readonly name: string;
  readonly run: (signal: AbortSignal) => Promise<void>;
}

export interface DependencyResult {
  readonly status: 'ok' | 'failed';
  /**
   * Why it failed, as a code safe to show a caller: the gateway error code (`ERR_SIGNING_UNAVAILABLE`),
   * the AWS error name (`AccessDeniedException`), `timeout` or `unreachable`. Never a message: messages
   * from outside may carry ARNs, URLs with credentials or worse.
   */
  readonly error?: string;
  readonly duration_ms: number;
}

export interface ReadinessReport {
  readonly status: 'ready' | 'not_ready';
  /** When the checks ran (ISO 8601): a report is reused for `ttlMs`. */
  readonly checked_at: string;
  readonly checks: Readonly<Record<string, DependencyResult>>;
}

export interface ReadinessProbeOptions {
  /** How long one report answers every caller (default 30 s): the probe must not hammer dependencies. */
  readonly ttlMs?: number;
  /** The longest any one check may take (default 3 s); the caller's deadline may cut it shorter. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** The name an error goes by in a report: a code or a class name, never its message. */
export function failureCode(error: unknown): string {
  if (isGatewayError(error)) return error.code;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  if (
    typeof name === 'string' &&
    /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name) &&
    name !== 'Error' &&
    name !== 'TypeError'
  )
    return name;
  return 'unreachable';
}

/**
 * Runs every dependency check at once, each bounded by the probe's timeout and the caller's deadline,
 * and keeps the report for `ttlMs`: concurrent and repeated callers within that time share one run (one
 * flight), so the probe costs each dependency at most one call per `ttlMs` however often it is polled.
 */
export class ReadinessProbe {
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private last: { readonly startedAt: number; readonly report: Promise<ReadinessReport> } | undefined;

  constructor(
    private readonly checks: readonly DependencyCheck[],
    options: ReadinessProbeOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.now = options.now ?? Date.now;
  }

  /** The current report; runs the checks if the last report is older than `ttlMs`. */
  report(deadline: number): Promise<ReadinessReport> {
    const now = this.now();
    if (this.last && now - this.last.startedAt < this.ttlMs) return this.last.report;
    const budget = Math.max(0, Math.min(this.timeoutMs, deadline - now));
    const report = this.run(budget);
    this.last = { startedAt: now, report };
    return report;
  }

  private async run(budgetMs: number): Promise<ReadinessReport> {
    const checkedAt = new Date(this.now()).toISOString();
    const results = await Promise.all(this.checks.map((check) => this.runOne(check, budgetMs)));
    const checks = Object.fromEntries(this.checks.map((check, index) => [check.name, results[index]!]));
    const ready = results.every((result) => result.status === 'ok');
    return { status: ready ? 'ready' : 'not_ready', checked_at: checkedAt, checks };
  }

  private async runOne(check: DependencyCheck, budgetMs: number): Promise<DependencyResult> {
    const started = performance.now();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // A check that ignores its signal still ends the report on time.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error('the check did not finish in time');
        error.name = 'TimeoutError';
        controller.abort(error);
        reject(error);
      }, budgetMs);
    });
    try {
      await Promise.race([check.run(controller.signal), timeout]);
      return { status: 'ok', duration_ms: Math.round(performance.now() - started) };
    } catch (error) {
      return {
        status: 'failed',
        error: failureCode(error),
        duration_ms: Math.round(performance.now() - started),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
