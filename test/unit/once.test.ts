import { describe, expect, it } from 'vitest';
import { KeyedOnce, onceUntilFailure } from '#lib/once.ts';

describe('KeyedOnce', () => {
  describe('get', () => {
    it('shares one load among concurrent callers of a key, and loads each key once', async () => {
      // Prepare
      const once = new KeyedOnce<string>();
      const loads: string[] = [];
      const load = (key: string) => () => {
        loads.push(key);
        return Promise.resolve(`value of ${key}`);
      };

      // Act
      const values = await Promise.all([
        once.get('a', load('a')),
        once.get('a', load('a')),
        once.get('b', load('b')),
      ]);

      // Assess
      expect(values).toEqual(['value of a', 'value of a', 'value of b']);
      expect(loads).toEqual(['a', 'b']);
    });

    it('forgets a rejected load, so the next caller loads again', async () => {
      // Prepare
      const once = new KeyedOnce<string>();
      let calls = 0;
      const load = () => (++calls === 1 ? Promise.reject(new Error('down')) : Promise.resolve('up'));

      // Act
      const first = await once.get('k', load).catch((error: Error) => error.message);
      const second = await once.get('k', load);

      // Assess
      expect([first, second, calls]).toEqual(['down', 'up', 2]);
    });

    it('loads again once a value is maxAgeMs old', async () => {
      // Prepare
      let clock = 0;
      const once = new KeyedOnce<number>({ maxAgeMs: 1_000, now: () => clock });
      let calls = 0;
      const load = () => Promise.resolve(++calls);

      // Act
      const fresh = await once.get('k', load);
      clock = 999;
      const cached = await once.get('k', load);
      clock = 1_000;
      const reloaded = await once.get('k', load);

      // Assess
      expect([fresh, cached, reloaded]).toEqual([1, 1, 2]);
    });

    it('drops the oldest key beyond maxEntries', async () => {
      // Prepare
      const once = new KeyedOnce<string>({ maxEntries: 2 });
      const loads: string[] = [];
      const load = (key: string) => () => {
        loads.push(key);
        return Promise.resolve(key);
      };

      // Act
      for (const key of ['a', 'b', 'c', 'b', 'a']) await once.get(key, load(key));

      // Assess: c pushed a out; b was still there; a is loaded again.
      expect(loads).toEqual(['a', 'b', 'c', 'a']);
    });
  });

  describe('onceUntilFailure', () => {
    it('is KeyedOnce with a single key', async () => {
      // Prepare
      let calls = 0;
      const get = onceUntilFailure(() => Promise.resolve(++calls));

      // Act
      const values = await Promise.all([get(), get()]);

      // Assess
      expect(values).toEqual([1, 1]);
    });
  });
});
