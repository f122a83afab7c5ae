/**
 * The admission state shared by every instance, per lane (`as:<target>`, `kms:<key>`): a schedule of
 * turns (GCRA: the theoretical arrival time of the next request), a back-off window, in-flight slots and
 * reserved turns of refused callers. DynamoDB holds it across instances; memory per instance.
 */
export interface AdmissionStore {
  /**
   * Takes the next turn of the lane's schedule, one every `intervalMs`, at the earliest `now` and never
   * inside a back-off window: `{ at }` when that turn is at most `horizonMs` ahead (the lane's schedule
   * then moves past it), otherwise `{ full }` with when the schedule is free again.
   */
  reserve(
    lane: string,
    intervalMs: number,
    horizonMs: number,
    now: number,
    /** The caller just saw the schedule busy (`reserveIfIdle` failed): skip asking again. */
    knownBusy?: boolean,
  ): Promise<Reservation>;
  /** Takes the turn `now` if the schedule is idle (no turn ahead, no window); resolves whether it did. */
  reserveIfIdle(lane: string, intervalMs: number, now: number): Promise<boolean>;
  /** Until when the lane is in back-off and when its next free turn is (both epoch ms, 0 if none). */
  state(lane: string): Promise<LaneState>;
  /** Opens (or extends, never shortens) a back-off window; the schedule resumes after it. */
  openBackoff(lane: string, until: number): Promise<void>;
  /** Takes one of `max` in-flight slots until `until` (epoch ms) unless all are held; resolves whether it did. */
  acquireSlot(lane: string, max: number, holder: string, until: number): Promise<boolean>;
  releaseSlot(lane: string, holder: string): Promise<void>;
  /** A refused caller's reserved turn, by its key (the cache key): `at` is the turn, `until` its end. */
  getTurn(lane: string, key: string): Promise<ReservedTurn | undefined>;
  putTurn(lane: string, key: string, turn: ReservedTurn): Promise<void>;
  /** Uses the turn: resolves false when another request used it first. */
  takeTurn(lane: string, key: string, turn: ReservedTurn): Promise<boolean>;
}

export type Reservation = { readonly at: number } | { readonly full: true; readonly freeAt: number };

export interface LaneState {
  readonly backoffUntil: number;
  readonly nextTurnAt: number;
}

export interface ReservedTurn {
  readonly at: number;
  readonly until: number;
}
