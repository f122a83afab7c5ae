import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelayMs } from '#lib/oauth/retry.ts';

const policy = (random: number): RetryPolicy => ({
  ...DEFAULT_RETRY_POLICY,
  maxRetries: 3,
  random: () => random,
});

describe('retryDelayMs', () => {
  it('draws full jitter below a ceiling that doubles each attempt', () => {
    // Act
    const ceilings = [0, 1, 2, 3].map((attempt) => retryDelayMs(attempt, null, policy(0.999_999)));

    // Assess
    expect(ceilings).toEqual([199, 399, 799, 1599]);
    expect(retryDelayMs(3, null, policy(0))).toBe(0);
  });

  it('caps the ceiling at maxDelayMs', () => {
    expect(retryDelayMs(20, null, policy(0.5))).toBe(2500);
  });

  it('honours Retry-After in seconds', () => {
    expect(retryDelayMs(0, '2', policy(0.5))).toBe(2000);
  });

  it('honours Retry-After as an HTTP date', () => {
    // Prepare
    const now = Date.UTC(2026, 10, 28, 12, 0, 0);
    const later = new Date(now + 1500).toUTCString();

    // Act + Assess
    expect(retryDelayMs(0, later, policy(0.5), now)).toBe(1000); // HTTP dates have whole seconds
  });

  it('never waits longer than maxDelayMs whatever the server asks', () => {
    expect(retryDelayMs(0, '3600', policy(0.5))).toBe(5000);
  });

  for (const value of ['soon', '1.5', '-1', '2026-11-28']) {
    it(`falls back to jitter when Retry-After is ${value}`, () => {
      expect(retryDelayMs(1, value, policy(0.5))).toBe(200);
    });
  }
});
