import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError } from '../errors.ts';
import type { AdmissionStore, LaneState } from './admission-store.ts';
import { MemoryAdmissionStore } from './memory-admission-store.ts';
import type { AnnouncedLimits } from './rate-limit-headers.ts';

/** The limits of one lane (`as:<target>`, `kms:<key>`). */
export interface LaneLimits {
  readonly requestsPerSecond: number;
  /** In-flight requests at once; none for a lane without a cap. */
  readonly maxConcurrent?: number | undefined;
  /** A request may wait this long for its turn; a later turn is refused at once. */
  readonly maxWaitMs: number;
  /** How far ahead a refused caller's turn is reserved (needs `key`); 0 reserves none. */
  readonly queueMs: number;
  /** A reserved turn is kept this long after its time. */
  readonly graceMs: number;
}

export interface EnterOptions {
  /** Epoch ms by which the caller needs its answer: no turn is taken that would leave no time to use it. */
  readonly deadline: number;
  /** The least time a request needs once admitted (its attempt); a later turn is refused. */
  readonly minimumMs: number;
  /** Who asks (the cache key): a refused caller's reserved turn is found by it when it comes back. */
  readonly key?: string | undefined;
  /** The refusal to throw, with the seconds after which to come back. */
  readonly refuse: (retryAfterSeconds: number, why: string) => GatewayError;
}

/** An admitted request: release it once its answer arrived (or it failed). */
export interface Permit {
  release(): Promise<void>;
  /**
   * Throws the refusal if this instance has learnt of a window since admitting the request: called just
   * before sending, after the work between (signing) that another request's 429 may have overtaken.
   */
  ensureClear?(): void;
}

export interface AdmissionObserver {
  /** The shared state (DynamoDB) failed: this request was admitted by the per-instance fallback. */
  degraded(operation: string, error: unknown): void;
  /** A request waited for its turn (`waited`), or was refused (`refused`), or a window opened (`backoff`). */
  outcome(lane: string, outcome: 'admitted' | 'waited' | 'refused' | 'backoff'): void;
}

export interface AdmissionDependencies {
  /** Shared by all instances (DynamoDB); absent without a cache table. */
  readonly shared?: AdmissionStore | undefined;
  /** Without the shared store (or while it fails) each instance takes 1/fallbackInstances of every limit. */
  readonly fallbackInstances: number;
  readonly observer?: AdmissionObserver;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What one lane looks like to an operator (GET /v1/ready). */
export interface LaneReport extends LaneState {
  /** Requests of this instance in flight now. */
  readonly inFlight: number;
  /** Whether the shared state answered (false: this instance's own view). */
  readonly shared: boolean;
}

/**
 * A failed shared store is left alone this long (each of its calls may take a quarter of a request's
 * time before it fails): meanwhile this instance admits its share alone.
 */
const SHARED_RETRY_AFTER_MS = 10_000;

/**
 * While requests wait for their turn, this instance reads the lane's shared window at most this often
 * (one read per lane shared by all its waiters): a window another instance opened refuses them within
 * this time rather than at their turn (up to `maxWaitMs` later).
 */
const WINDOW_POLL_MS = 100;

/** The longest Retry-After the gateway gives: beyond an hour, "later" says enough. */
const MAX_RETRY_AFTER_SECONDS = 3600;

const noObserver: AdmissionObserver = { degraded: () => undefined, outcome: () => undefined };

/**
 * Admission control for requests the gateway sends outside (token requests per target, KMS Sign per key),
 * so that a storm of callers never becomes a storm on the servers behind it:
 * - a schedule of turns per lane (GCRA: one turn every 1/rate seconds, shared by all instances), so the
 *   server never sees more than its rate; a request waits at most `maxWaitMs` for its turn;
 * - a refused caller gets a turn reserved for it further ahead and a `Retry-After` that brings it back just
 *   before that turn: callers are served in the order they first asked, newcomers queue behind them, and
 *   retries are spread at exactly the rate (docs/ARCHITECTURE.md, "Admission");
 * - a back-off window per lane, opened by a server's 429/503 `Retry-After` or a used-up rate limit, during
 *   which nothing is sent and callers are refused at once with the remaining time;
 * - a cap on requests in flight.
 * The shared state is a `AdmissionStore` (DynamoDB); when it is absent or fails, a per-instance one with a
 * share of every limit.
 */
export class Admission {
  private readonly memory: MemoryAdmissionStore;
  private readonly observer: AdmissionObserver;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Windows this instance knows of, to refuse at once without asking the shared store. */
  private readonly windows = new Map<string, number>();
  /** The server's own announcement (remaining requests until a reset), per lane, to pace by. */
  private readonly announced = new Map<string, { count: number; resetAt: number }>();
  private readonly inFlight = new Map<string, number>();
  /** Requests sleeping until their turn, per lane: woken when a window opens. */
  private readonly waiting = new Map<string, Set<() => void>>();
  /** When each lane's shared window was last read for its waiting requests (one read for all of them). */
  private readonly windowReadAt = new Map<string, number>();
  /** After a failure of the shared store, this instance admits alone for a while instead of waiting on it. */
  private sharedFailedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: AdmissionDependencies) {
    this.now = deps.now ?? Date.now;
    this.memory = new MemoryAdmissionStore(this.now);
    this.observer = deps.observer ?? noObserver;
    this.sleep = deps.sleep ?? ((ms) => sleep(ms));
  }

  /** Waits for the lane's next turn (at most `maxWaitMs`), or throws the refusal at once. */
  async enter(lane: string, limits: LaneLimits, options: EnterOptions): Promise<Permit> {
    const now = this.now();
    const window = this.windows.get(lane) ?? 0;
    // Refused at once unless a turn after the window may be within `maxWaitMs`: then the request takes
    // its turn as outside a window (a caller back for its reserved turn just after the window waits for
    // it). Sent away with the window's remaining whole seconds, it would come back after its turn and go
    // on top of the turns then due: the burst after a pause.
    if (window - now > limits.maxWaitMs) {
      this.observer.outcome(lane, 'refused');
      throw options.refuse(retryAfter(window - now), 'in back-off');
    }
    let permit: Permit;
    if (this.deps.shared && now - this.sharedFailedAt > SHARED_RETRY_AFTER_MS) {
      try {
        permit = await this.enterWith(this.deps.shared, 1, lane, limits, options);
      } catch (error) {
        if (!isStoreFailure(error)) throw error;
        this.sharedFailedAt = this.now();
        this.observer.degraded('admission', error);
        permit = await this.enterWith(this.memory, this.deps.fallbackInstances, lane, limits, options);
      }
    } else {
      permit = await this.enterWith(this.memory, this.deps.fallbackInstances, lane, limits, options);
    }
    this.inFlight.set(lane, (this.inFlight.get(lane) ?? 0) + 1);
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        this.inFlight.set(lane, (this.inFlight.get(lane) ?? 1) - 1);
        await permit.release();
      },
      ensureClear: () => {
        // This instance's windows only: a table read before every send would cost every miss a call.
        const window = this.windows.get(lane) ?? 0;
        const now = this.now();
        if (window <= now) return;
        this.observer.outcome(lane, 'refused');
        throw options.refuse(retryAfter(window - now), 'in back-off');
      },
    };
  }

  /**
   * What an answer announced: a `Retry-After` or a used-up limit opens the lane's window (for every
   * instance), the remaining count paces this instance until its reset.
   */
  async observe(lane: string, limits: AnnouncedLimits): Promise<void> {
    if (limits.remaining) this.announced.set(lane, limits.remaining);
    if (limits.backoffUntil !== undefined) await this.openBackoff(lane, limits.backoffUntil);
  }

  /** Nothing is sent on this lane until `until` (epoch ms), by any instance. */
  async openBackoff(lane: string, until: number): Promise<void> {
    if (until <= this.now()) return;
    this.learnWindow(lane, until);
    this.observer.outcome(lane, 'backoff');
    await this.memory.openBackoff(lane, until);
    if (!this.deps.shared) return;
    try {
      await this.deps.shared.openBackoff(lane, until);
    } catch (error) {
      this.observer.degraded('admission back-off', error);
    }
  }

  /** Keeps a window this instance learnt of and wakes the lane's waiting requests to refuse them. */
  private learnWindow(lane: string, until: number): void {
    if (until <= (this.windows.get(lane) ?? 0)) return;
    this.windows.set(lane, until);
    for (const wake of this.waiting.get(lane) ?? []) wake();
  }

  /**
   * Reads the lane's window from the shared store, at most every WINDOW_POLL_MS for all waiters of the
   * lane; a window found wakes them. Not awaited: a slow read must not hold a request past its turn, nor
   * send the waiters that awaited it together. A failed read is as no window (the request goes at its turn,
   * as without a store).
   */
  private pollWindow(store: AdmissionStore, lane: string): void {
    const now = this.now();
    if (now - (this.windowReadAt.get(lane) ?? Number.NEGATIVE_INFINITY) < WINDOW_POLL_MS) return;
    this.windowReadAt.set(lane, now);
    void store.state(lane).then(
      (state) => this.learnWindow(lane, state.backoffUntil),
      (error: unknown) => this.observer.degraded('admission back-off read', error),
    );
  }

  /** Sleeps `ms`, or less if a window opens on the lane meanwhile: resolves whether it was woken. */
  private async wait(lane: string, ms: number): Promise<boolean> {
    let wake = (): void => undefined;
    const woken = new Promise<boolean>((resolve) => {
      wake = () => resolve(true);
    });
    const waiting = this.waiting.get(lane) ?? new Set<() => void>();
    this.waiting.set(lane, waiting);
    waiting.add(wake);
    try {
      return await Promise.race([this.sleep(ms).then(() => false), woken]);
    } finally {
      waiting.delete(wake);
    }
  }

  /** The lane's state for an operator: the shared one when it answers, this instance's otherwise. */
  async report(lane: string): Promise<LaneReport> {
    const inFlight = this.inFlight.get(lane) ?? 0;
    if (this.deps.shared) {
      try {
        return { ...(await this.deps.shared.state(lane)), inFlight, shared: true };
      } catch {
        // Reported as this instance's view.
      }
    }
    const state = await this.memory.state(lane);
    const window = this.windows.get(lane) ?? 0;
    return { ...state, backoffUntil: Math.max(state.backoffUntil, window), inFlight, shared: false };
  }

  private async enterWith(
    store: AdmissionStore,
    share: number,
    lane: string,
    limits: LaneLimits,
    options: EnterOptions,
  ): Promise<Permit> {
    const now = this.now();
    const refuse = (until: number, why: string): never => {
      this.observer.outcome(lane, 'refused');
      throw options.refuse(retryAfter(until - this.now()), why);
    };
    const interval = this.intervalMs(lane, limits, share, now);
    const key = options.key;
    let turn: number | undefined;
    // An idle schedule admits at once: no reserved turn can be ahead of this request then.
    const idle = key !== undefined && (await store.reserveIfIdle(lane, interval, now));
    if (idle) turn = now;
    else if (key !== undefined) {
      const kept = await store.getTurn(lane, key);
      // Come back too early: the same turn, the remaining time; nothing is taken.
      if (kept && kept.at - now > limits.maxWaitMs) refuse(kept.at, 'its turn has not come');
      if (kept && (await store.takeTurn(lane, key, kept))) {
        // A turn before the end of a window opened since it was reserved is gone: queue again, after
        // the window. Used late, once the window is over, every turn it covered would go at once, on top
        // of the schedule's own (turns are only ever reserved after a window the lane knows of).
        const { backoffUntil } = await store.state(lane);
        if (kept.at >= Math.max(backoffUntil, this.windows.get(lane) ?? 0)) turn = kept.at;
      }
    }
    if (turn === undefined) {
      const horizon = Math.max(limits.maxWaitMs, key === undefined ? 0 : limits.queueMs);
      const reservation = await store.reserve(lane, interval, horizon, now, key !== undefined);
      if ('full' in reservation) refuse(reservation.freeAt, 'no turn free');
      else turn = reservation.at;
    }
    const at = turn!;
    // A window only this instance knows (its write to the shared store failed) still holds.
    const known = this.windows.get(lane) ?? 0;
    if (known > at) refuse(known, 'in back-off');
    const late = at + options.minimumMs > options.deadline;
    if (at - now > limits.maxWaitMs || late) {
      if (options.key !== undefined && limits.queueMs > 0 && at - now <= limits.queueMs) {
        // Kept for the caller, which is told to come back just before it (and then waits for it).
        await store.putTurn(lane, options.key, { at, until: at + limits.graceMs });
        this.observer.outcome(lane, 'refused');
        throw options.refuse(
          Math.max(1, Math.min(MAX_RETRY_AFTER_SECONDS, Math.floor((at - now) / 1000))),
          'turn reserved',
        );
      }
      refuse(at, 'turn too far');
    }
    if (at > now) {
      this.observer.outcome(lane, 'waited');
      // Refused as soon as a window covering the turn is known: woken at once when this instance opens
      // one, and within WINDOW_POLL_MS (and a read) when another instance did. A window that ends before
      // the turn lets the request go at its turn.
      // The sleeps add up to the wait measured when the turn was taken, as one sleep did: measured again
      // from the clock after each, early turns that went late (a slow first reservation) would send the
      // ones after them closer together.
      let left = at - now;
      for (;;) {
        const slept = left > 0 ? Math.min(left, WINDOW_POLL_MS) : 0;
        if (store !== this.memory) this.pollWindow(store, lane);
        const woken = slept > 0 && (await this.wait(lane, slept));
        let until = this.windows.get(lane) ?? 0;
        if (left <= 0 && store !== this.memory) {
          // At the turn, this request's own read: nothing is sent into a window opened since the last poll.
          until = Math.max(until, (await store.state(lane)).backoffUntil);
        }
        if (until > Math.max(at, this.now())) refuse(until, 'in back-off');
        if (left <= 0) break;
        left = woken ? at - this.now() : left - slept;
      }
    }
    if (limits.maxConcurrent === undefined) {
      this.observer.outcome(lane, 'admitted');
      return { release: async () => undefined };
    }
    const holder = randomUUID();
    const max = Math.max(1, Math.floor(limits.maxConcurrent / share));
    // A slot outlives the request only by its deadline: a crashed instance cannot hold it longer.
    const until = Math.min(options.deadline, this.now() + 60_000);
    if (!(await store.acquireSlot(lane, max, holder, until))) refuse(this.now() + 1000, 'too many in flight');
    this.observer.outcome(lane, 'admitted');
    return {
      release: async () => {
        await store
          .releaseSlot(lane, holder)
          .catch((error: unknown) => this.observer.degraded('admission slot', error));
      },
    };
  }

  /** One turn every 1/rate seconds, slower while the server's own announcement asks for it. */
  private intervalMs(lane: string, limits: LaneLimits, share: number, now: number): number {
    const configured = (1000 * share) / limits.requestsPerSecond;
    const announced = this.announced.get(lane);
    if (!announced || announced.resetAt <= now) return configured;
    return Math.max(configured, (announced.resetAt - now) / Math.max(1, announced.count));
  }
}

/** Whole seconds, at least 1, rounded up: a caller that honours it never comes back too early. */
function retryAfter(ms: number): number {
  return Math.max(1, Math.min(MAX_RETRY_AFTER_SECONDS, Math.ceil(ms / 1000)));
}

/** The shared store's own failures (DynamoDB): admission then falls back to this instance's share. */
function isStoreFailure(error: unknown): boolean {
  return (
    error instanceof GatewayError &&
    (error.code === 'ERR_CACHE_UNAVAILABLE' || error.code === 'ERR_AWS_UNCONFIGURED')
  );
}
