import { describe, expect, it } from 'vitest';
import { GatewayError } from '#lib/errors.ts';
import { type DependencyCheck, failureCode, ReadinessProbe } from '#lib/readiness/probe.ts';

/** A check that counts its runs and answers as told. */
function check(name: string, outcome: () => Promise<void> = async () => {}) {
  let runs = 0;
  const dependency: DependencyCheck = {
    name,
    run: () => {
      runs++;
      return outcome();
    },
  };
  return { dependency, runs: () => runs };
}

describe('ReadinessProbe', () => {
  describe('report', () => {
    it('is ready when every check passes, with one result per dependency', async () => {
      // Prepare
      const probe = new ReadinessProbe([check('signing_key:blue').dependency, check('table').dependency]);

      // Act
      const report = await probe.report(Date.now() + 5_000);

      // Assess
      expect(report.status).toBe('ready');
      expect(Object.keys(report.checks)).toEqual(['signing_key:blue', 'table']);
      expect(report.checks.table).toMatchObject({ status: 'ok' });
      expect(Number.isNaN(Date.parse(report.checked_at))).toBe(false);
    });

    it('names the failed dependency with a code, never the message', async () => {
      // Prepare
      const kms = check('signing_key:blue', async () => {
        throw Object.assign(new Error('User arn:aws:iam::1:role/x is not authorized'), {
          name: 'AccessDeniedException',
        });
      });
      const secret = check('secret:targets.okta.secret', async () => {
        throw new GatewayError('ERR_SECRET_UNAVAILABLE', 'Secrets Manager said no');
      });
      const probe = new ReadinessProbe([kms.dependency, secret.dependency, check('table').dependency]);

      // Act
      const report = await probe.report(Date.now() + 5_000);

      // Assess
      expect(report.status).toBe('not_ready');
      expect(report.checks['signing_key:blue']).toMatchObject({
        status: 'failed',
        error: 'AccessDeniedException',
      });
      expect(report.checks['secret:targets.okta.secret']).toMatchObject({
        status: 'failed',
        error: 'ERR_SECRET_UNAVAILABLE',
      });
      expect(JSON.stringify(report)).not.toContain('arn:aws');
    });

    it('ends a check that ignores its signal at the deadline, as a timeout', async () => {
      // Prepare
      const stuck = check('target:okta', () => new Promise<void>(() => {}));
      const probe = new ReadinessProbe([stuck.dependency], { timeoutMs: 60_000 });

      // Act
      const report = await probe.report(Date.now() + 50);

      // Assess
      expect(report.checks['target:okta']).toMatchObject({ status: 'failed', error: 'timeout' });
    });

    it('aborts the signal of a check that runs out of time', async () => {
      // Prepare
      let aborted: unknown;
      const probe = new ReadinessProbe(
        [
          {
            name: 'table',
            run: (signal) =>
              new Promise<void>((_, reject) => {
                signal.addEventListener('abort', () => {
                  aborted = signal.reason;
                  reject(signal.reason);
                });
              }),
          },
        ],
        { timeoutMs: 20 },
      );

      // Act
      const report = await probe.report(Date.now() + 5_000);

      // Assess
      expect(report.checks.table).toMatchObject({ status: 'failed', error: 'timeout' });
      expect((aborted as Error).name).toBe('TimeoutError');
    });

    it('shares one run between concurrent and repeated callers for the TTL, then checks again', async () => {
      // Prepare
      let now = 1_000_000;
      const table = check('table');
      const probe = new ReadinessProbe([table.dependency], { ttlMs: 30_000, now: () => now });

      // Act
      const first = await Promise.all([probe.report(now + 5_000), probe.report(now + 5_000)]);
      now += 29_999;
      const cached = await probe.report(now + 5_000);
      now += 1;
      const fresh = await probe.report(now + 5_000);

      // Assess
      expect(first[0]).toBe(first[1]);
      expect(cached).toBe(first[0]);
      expect(fresh).not.toBe(first[0]);
      expect(table.runs()).toBe(2);
    });
  });
});

describe('failureCode', () => {
  it.each([
    [new GatewayError('ERR_AS_UNAVAILABLE', 'x'), 'ERR_AS_UNAVAILABLE'],
    [Object.assign(new Error('x'), { name: 'NotFoundException' }), 'NotFoundException'],
    [new TypeError('fetch failed'), 'unreachable'],
    [new Error('plain'), 'unreachable'],
    [Object.assign(new Error('x'), { name: 'TimeoutError' }), 'timeout'],
    [Object.assign(new Error('x'), { name: 'has spaces and: secrets' }), 'unreachable'],
    ['a string', 'unreachable'],
  ])('names %s as %s', (error, code) => {
    expect(failureCode(error)).toBe(code);
  });
});
