import type { AdmissionStore, LaneState, Reservation, ReservedTurn } from './admission-store.ts';

interface Lane {
  /** Theoretical arrival time of the next turn (GCRA). */
  tat: number;
  backoffUntil: number;
  readonly slots: Map<string, number>;
  readonly turns: Map<string, ReservedTurn>;
}

/** Most reserved turns one lane keeps in memory; the oldest go first (a lost turn only costs fairness). */
const MAX_TURNS = 10_000;

/**
 * The admission state of one instance: what the gateway uses without a cache table, and while the table
 * fails (then with a share of each limit, see TargetAdmission).
 */
export class MemoryAdmissionStore implements AdmissionStore {
  private readonly lanes = new Map<string, Lane>();

  constructor(private readonly now: () => number = Date.now) {}

  async reserve(lane: string, intervalMs: number, horizonMs: number, now: number): Promise<Reservation> {
    const state = this.lane(lane);
    const at = Math.max(state.tat, state.backoffUntil, now);
    if (at - now > horizonMs) return { full: true, freeAt: at };
    state.tat = at + intervalMs;
    return { at };
  }

  async reserveIfIdle(lane: string, intervalMs: number, now: number): Promise<boolean> {
    const state = this.lane(lane);
    if (Math.max(state.tat, state.backoffUntil) > now) return false;
    state.tat = now + intervalMs;
    return true;
  }

  async state(lane: string): Promise<LaneState> {
    const state = this.lanes.get(lane);
    return { backoffUntil: state?.backoffUntil ?? 0, nextTurnAt: state?.tat ?? 0 };
  }

  async openBackoff(lane: string, until: number): Promise<void> {
    const state = this.lane(lane);
    state.backoffUntil = Math.max(state.backoffUntil, until);
  }

  async acquireSlot(lane: string, max: number, holder: string, until: number): Promise<boolean> {
    const { slots } = this.lane(lane);
    const now = this.now();
    for (const [other, end] of slots) if (end <= now) slots.delete(other);
    if (slots.size >= max) return false;
    slots.set(holder, until);
    return true;
  }

  async releaseSlot(lane: string, holder: string): Promise<void> {
    this.lanes.get(lane)?.slots.delete(holder);
  }

  async getTurn(lane: string, key: string): Promise<ReservedTurn | undefined> {
    const turn = this.lanes.get(lane)?.turns.get(key);
    return turn && turn.until > this.now() ? turn : undefined;
  }

  async putTurn(lane: string, key: string, turn: ReservedTurn): Promise<void> {
    const { turns } = this.lane(lane);
    turns.delete(key);
    turns.set(key, turn);
    while (turns.size > MAX_TURNS) {
      const oldest = turns.keys().next().value;
      if (oldest === undefined) break;
      turns.delete(oldest);
    }
  }

  async takeTurn(lane: string, key: string, turn: ReservedTurn): Promise<boolean> {
    const turns = this.lanes.get(lane)?.turns;
    if (turns?.get(key)?.at !== turn.at) return false;
    turns.delete(key);
    return true;
  }

  private lane(name: string): Lane {
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = { tat: 0, backoffUntil: 0, slots: new Map(), turns: new Map() };
      this.lanes.set(name, lane);
    }
    return lane;
  }
}
