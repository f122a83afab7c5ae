import { describe, expect, it } from 'vitest';
import { Admission, type LaneLimits } from '#lib/admission/admission.ts';
import { MemoryAdmissionStore } from '#lib/admission/memory-admission-store.ts';
import { announcedLimits } from '#lib/admission/rate-limit-headers.ts';
import { GatewayError } from '#lib/errors.ts';

/**
 * An admission on a clock the test moves. Sleeping is only recorded and does not move the clock, so
 * requests entered one after the other arrive together, as concurrent ones would.
 */
function clocked() {
  let now = 1_000_000;
  const slept: number[] = [];
  const admission = new Admission({
    fallbackInstances: 1,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
    },
  });
  return {
    admission,
    slept,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

const ONE_PER_SECOND: LaneLimits = { requestsPerSecond: 1, maxWaitMs: 1000, queueMs: 60_000, graceMs: 5000 };

/** Enters for `key`: 'admitted', or the Retry-After of the refusal. */
async function enter(admission: Admission, key: string, now: number): Promise<'admitted' | number> {
  try {
    const permit = await admission.enter('as:demo', ONE_PER_SECOND, {
      deadline: now + 29_000,
      minimumMs: 100,
      key,
      refuse: (retryAfterSeconds) => new GatewayError('ERR_AS_BUSY', 'busy', { retryAfterSeconds }),
    });
    await permit.release();
    return 'admitted';
  } catch (error) {
    return (error as GatewayError).retryAfterSeconds ?? -1;
  }
}

describe('Admission', () => {
  describe('fairness', () => {
    it('keeps a refused caller its turn: back after its Retry-After, it goes before newcomers', async () => {
      // Prepare: one request per second; A, B and C arrive together.
      const { admission, advance, now } = clocked();
      expect(await enter(admission, 'A', now())).toBe('admitted'); // its turn is now
      expect(await enter(admission, 'B', now())).toBe('admitted'); // waits 1 s for the next one
      const retryAfter = await enter(admission, 'C', now()); // 2 s ahead: refused, its turn reserved

      // Act: while C is away, newcomers arrive; then C comes back after its Retry-After.
      expect(retryAfter).toBe(2);
      const newcomer = await enter(admission, 'D', now());
      advance((retryAfter as number) * 1000);
      const back = await enter(admission, 'C', now());

      // Assess: the newcomer queued behind C (its turn is after C's); C was admitted on its return.
      expect(newcomer).toBe(3);
      expect(back).toBe('admitted');
    });

    it('tells a caller that comes back too early the same turn, taking nothing', async () => {
      // Prepare
      const { admission, now } = clocked();
      await enter(admission, 'A', now());
      await enter(admission, 'B', now());
      await enter(admission, 'C', now());
      const first = await enter(admission, 'D', now());

      // Act: D again, at once, twice.
      const again = await enter(admission, 'D', now());
      const state = await admission.report('as:demo');
      const andAgain = await enter(admission, 'D', now());

      // Assess: the same answer, and the schedule did not move.
      expect(again).toBe(first);
      expect(andAgain).toBe(first);
      expect((await admission.report('as:demo')).nextTurnAt).toBe(state.nextTurnAt);
    });
  });

  describe('back-off', () => {
    it("moves a reserved turn that a window now covers to after the window, keeping the caller's place", async () => {
      // Prepare: two instances sharing one store. C's turn is reserved 2 s ahead on the first; then the
      // server asks the second for a 10 s pause, which the first learns only from the store.
      let now = 1_000_000;
      const shared = new MemoryAdmissionStore(() => now);
      const options = { shared, fallbackInstances: 1, now: () => now, sleep: async () => undefined };
      const first = new Admission(options);
      const second = new Admission(options);
      const start = now;
      await enter(first, 'A', now);
      await enter(first, 'B', now);
      expect(await enter(first, 'C', now)).toBe(2);
      await second.openBackoff('as:demo', start + 10_000);
      now += 2000;

      // Act: C comes back to the first instance for its turn, inside the window; then a newcomer.
      const back = await enter(first, 'C', now);
      const newcomer = await enter(first, 'D', now);

      // Assess: C's new turn is the window's end (8 s from now), the newcomer's the one after.
      expect(back).toBe(8);
      expect(newcomer).toBe(9);
      expect((await shared.state('as:demo')).nextTurnAt).toBe(start + 12_000);
    });

    it('queues again the callers whose turns a window covered, instead of sending them all when it ends', async () => {
      // Prepare: one request per second. A goes now, B waits for +1 s, C, D, E and F are refused with
      // turns at +2, +3, +4 and +5 s. Then the server asks this instance for a pause until +4 s.
      const { admission, advance, now } = clocked();
      const start = now();
      await enter(admission, 'A', start);
      await enter(admission, 'B', start);
      const told = [];
      for (const key of ['C', 'D', 'E', 'F']) told.push(await enter(admission, key, start));
      await admission.openBackoff('as:demo', start + 4000);

      // Act: C and D, sent away by the window, come back when it ends, with E whose turn that is.
      advance(4000);
      const back = [];
      for (const key of ['C', 'D', 'E']) back.push(await enter(admission, key, now()));

      // Assess: E goes (its turn is now); C's and D's turns passed inside the window, and using them now
      // would send three requests in the same instant: they queue again after F (+6 s and +7 s).
      expect(told).toEqual([2, 3, 4, 5]);
      expect(back).toEqual([2, 3, 'admitted']);
    });

    it('lets a caller back in the last second of a window wait for its turn just after it, instead of sending it away', async () => {
      // Prepare: one request per second. A goes now, B waits for +1 s; C, D and E are refused with turns at
      // +2, +3 and +4 s. Then the server asks this instance for a pause until +3.5 s, which covers C's and
      // D's turns but not E's.
      const { admission, advance, now, slept } = clocked();
      const start = now();
      await enter(admission, 'A', start);
      await enter(admission, 'B', start);
      for (const key of ['C', 'D', 'E']) await enter(admission, key, start);
      await admission.openBackoff('as:demo', start + 3500);
      slept.length = 0;

      // Act: E comes back inside the window, 800 ms before its turn (as a caller told whole seconds does).
      advance(3200);
      const back = await enter(admission, 'E', now());

      // Assess: E waited the 800 ms to its turn (after the window) and went. Refused with the window's
      // remaining Retry-After (1 s), it would have come back after its turn, and gone on top of the turns
      // then due: the burst after a pause.
      expect(back).toBe('admitted');
      expect(slept.reduce((sum, ms) => sum + ms, 0)).toBe(800);
    });

    it('sends nothing inside a window in its last second that only this instance knows (the table write failed)', async () => {
      // Prepare: the shared store takes turns but fails to record the window.
      const now = 1_000_000;
      const shared = new MemoryAdmissionStore(() => now);
      shared.openBackoff = async () => {
        throw new GatewayError('ERR_CACHE_UNAVAILABLE', 'table down');
      };
      const admission = new Admission({
        shared,
        fallbackInstances: 1,
        now: () => now,
        sleep: async () => undefined,
      });
      await admission.openBackoff('as:demo', now + 500);

      // Act: a newcomer on the idle lane, inside the window.
      const answer = await enter(admission, 'A', now);

      // Assess: refused with the window's remaining time, not given the idle turn inside it.
      expect(answer).toBe(1);
    });

    it('refuses a request waiting for its turn as soon as this instance learns of a window covering it', async () => {
      // Prepare: sleeping lasts until the test ends it. A goes now; B waits for its turn at +1 s.
      let now = 1_000_000;
      const sleeping: Array<() => void> = [];
      const admission = new Admission({
        fallbackInstances: 1,
        now: () => now,
        sleep: () => new Promise<void>((resolve) => sleeping.push(resolve)),
      });
      const start = now;
      expect(await enter(admission, 'A', start)).toBe('admitted');
      const waiting = enter(admission, 'B', start);
      await new Promise((resolve) => setImmediate(resolve));
      expect(sleeping).toHaveLength(1);

      // Act: 10 ms later the server asks this instance for a 10 s pause.
      now += 10;
      await admission.openBackoff('as:demo', start + 10_000);
      const answer = await Promise.race([
        waiting,
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 500)),
      ]);

      // Assess: refused at once (not when its turn comes), told the rest of the window.
      expect(answer).toBe(10);
    });

    it('refuses a request waiting on one instance as soon as another instance opens a window', async () => {
      // Prepare: two instances share one store and a clock; a sleep ends only when the clock passes its
      // end. A goes now on instance 1; B waits on instance 2 for its turn at +1 s.
      let now = 1_000_000;
      const sleeps: Array<{ end: number; resolve: () => void }> = [];
      const instance = (shared: MemoryAdmissionStore) =>
        new Admission({
          shared,
          fallbackInstances: 2,
          now: () => now,
          sleep: (ms) => new Promise<void>((resolve) => sleeps.push({ end: now + ms, resolve })),
        });
      const shared = new MemoryAdmissionStore(() => now);
      const [one, two] = [instance(shared), instance(shared)];
      const start = now;
      const reasons: string[] = [];
      const enterOn = (admission: Admission, key: string) =>
        admission
          .enter('as:demo', ONE_PER_SECOND, {
            deadline: start + 29_000,
            minimumMs: 100,
            key,
            refuse: (retryAfterSeconds, why) => {
              reasons.push(why);
              return new GatewayError('ERR_AS_BUSY', 'busy', { retryAfterSeconds });
            },
          })
          .then(
            () => 'admitted' as const,
            (error: GatewayError) => error.retryAfterSeconds,
          );
      const flush = async () => {
        for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
      };
      expect(await enterOn(one, 'A')).toBe('admitted');
      const waiting = enterOn(two, 'B');
      await flush();
      expect(sleeps).toHaveLength(1);

      // Act: 10 ms later instance 1 learns of a 10 s pause; the clock moves on 100 ms, well before B's turn.
      now += 10;
      await one.openBackoff('as:demo', start + 10_000);
      now += 100;
      for (const sleep of sleeps.splice(0)) if (sleep.end <= now) sleep.resolve();
      await flush();
      const answer = await Promise.race([waiting, flush().then(() => 'still waiting for its turn')]);

      // Assess: refused in back-off with the rest of the window, 890 ms before its turn would have come.
      expect(answer).toBe(10);
      expect(reasons).toEqual(['in back-off']);
    });

    it('reads the shared window at most once per 100 ms per lane, however many requests wait', async () => {
      // Prepare: four turns a second; A goes now on instance 1, B, C, D wait on instance 2 for +250, +500
      // and +750 ms. The shared store counts its reads of the window.
      let now = 1_000_000;
      const sleeps: Array<{ end: number; resolve: () => void }> = [];
      const shared = new MemoryAdmissionStore(() => now);
      let reads = 0;
      const state = shared.state.bind(shared);
      shared.state = (lane) => {
        reads++;
        return state(lane);
      };
      const instance = () =>
        new Admission({
          shared,
          fallbackInstances: 2,
          now: () => now,
          sleep: (ms) => new Promise<void>((resolve) => sleeps.push({ end: now + ms, resolve })),
        });
      const [one, two] = [instance(), instance()];
      const limits: LaneLimits = { ...ONE_PER_SECOND, requestsPerSecond: 4 };
      const enterOn = (admission: Admission) =>
        admission
          .enter('as:demo', limits, {
            deadline: now + 29_000,
            minimumMs: 100,
            refuse: (retryAfterSeconds) => new GatewayError('ERR_AS_BUSY', 'busy', { retryAfterSeconds }),
          })
          .then(() => 'admitted');
      const flush = async () => {
        for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
      };
      await enterOn(one);
      const waiting = [enterOn(two), enterOn(two), enterOn(two)];
      await flush();

      // Act: the clock moves on in 10 ms steps until the last turn.
      for (let step = 0; step < 80; step++) {
        now += 10;
        for (const sleep of sleeps.splice(0)) {
          if (sleep.end <= now) sleep.resolve();
          else sleeps.push(sleep);
        }
        await flush();
      }

      // Assess: all three went at their turns after at most one poll per 100 ms (8 in 800 ms, one more
      // at the start) and each one read of its own at its turn; a poll per waiter would make 19.
      expect(await Promise.all(waiting)).toEqual(['admitted', 'admitted', 'admitted']);
      expect(reads).toBeGreaterThan(3);
      expect(reads).toBeLessThanOrEqual(12);
    });

    it('lets a waiting request go at its turn when a window ends before it', async () => {
      // Prepare
      let now = 1_000_000;
      const sleeping: Array<() => void> = [];
      const admission = new Admission({
        fallbackInstances: 1,
        now: () => now,
        sleep: () => new Promise<void>((resolve) => sleeping.push(resolve)),
      });
      const start = now;
      await enter(admission, 'A', start);
      const waiting = enter(admission, 'B', start);
      await new Promise((resolve) => setImmediate(resolve));

      // Act: a window until +0.5 s opens while B waits for +1 s; then its turn comes.
      now += 10;
      await admission.openBackoff('as:demo', start + 500);
      await new Promise((resolve) => setImmediate(resolve));
      now = start + 1000;
      // The wait sleeps in steps of at most 100 ms (to look for windows of other instances): end each.
      for (let step = 0; step < 20; step++) {
        for (const wake of sleeping.splice(0)) wake();
        await new Promise((resolve) => setImmediate(resolve));
      }

      // Assess
      expect(await waiting).toBe('admitted');
    });

    it('refuses at once with the remaining window, without sleeping', async () => {
      // Prepare
      const { admission, slept, now } = clocked();
      await admission.openBackoff('as:demo', now() + 30_000);

      // Act
      const answer = await enter(admission, 'A', now());

      // Assess
      expect(answer).toBe(30);
      expect(slept).toEqual([]);
    });
  });
});

describe('announcedLimits', () => {
  const now = Date.parse('2026-12-07T08:00:00Z');

  it("reads Okta's X-Rate-Limit fields: a used-up limit backs off until its reset", () => {
    const headers = new Headers({
      'x-rate-limit-limit': '600',
      'x-rate-limit-remaining': '0',
      'x-rate-limit-reset': String(now / 1000 + 42),
    });
    expect(announcedLimits(200, headers, now)).toEqual({
      backoffUntil: now + 42_000,
      remaining: { count: 0, resetAt: now + 42_000 },
    });
  });

  it('reads the IETF RateLimit field (draft 08) and its earlier form', () => {
    expect(announcedLimits(200, new Headers({ ratelimit: '"default";r=7;t=10' }), now).remaining).toEqual({
      count: 7,
      resetAt: now + 10_000,
    });
    const earlier = new Headers({ 'ratelimit-remaining': '3', 'ratelimit-reset': '5' });
    expect(announcedLimits(200, earlier, now).remaining).toEqual({ count: 3, resetAt: now + 5000 });
  });

  it('opens a window on 429 and 503 with Retry-After only, capped at an hour', () => {
    expect(announcedLimits(429, new Headers({ 'retry-after': '30' }), now).backoffUntil).toBe(now + 30_000);
    expect(announcedLimits(503, new Headers({ 'retry-after': '99999' }), now).backoffUntil).toBe(
      now + 3_600_000,
    );
    expect(announcedLimits(200, new Headers({ 'retry-after': '30' }), now).backoffUntil).toBeUndefined();
    expect(announcedLimits(429, new Headers({ 'retry-after': 'soon' }), now).backoffUntil).toBeUndefined();
  });
});
