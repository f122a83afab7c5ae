import { describe, expect, it } from 'vitest';
import { lazyAdapter } from '#lib/lazy-adapter.ts';

interface Greeter {
  readonly name: string;
  greet(who: string): Promise<string>;
  farewell(who: string): Promise<string>;
}

class RealGreeter implements Greeter {
  readonly name = 'real';
  readonly #prefix: string;
  constructor(prefix: string) {
    this.#prefix = prefix;
  }
  async greet(who: string) {
    return `${this.#prefix} ${who}`;
  }
  async farewell(who: string) {
    return `bye ${who}`;
  }
}

describe('lazyAdapter', () => {
  describe('port', () => {
    it('builds the adapter on the first call only, once for concurrent callers, keeping `this`', async () => {
      // Prepare
      let builds = 0;
      const { port } = lazyAdapter<Greeter>(
        async () => {
          builds++;
          return new RealGreeter('hello');
        },
        { greet: true, farewell: true },
        { name: 'lazy' },
      );

      // Act
      const before = builds;
      const answers = await Promise.all([port.greet('a'), port.greet('b'), port.farewell('c')]);

      // Assess
      expect(before).toBe(0);
      expect(port.name).toBe('lazy');
      expect(answers).toEqual(['hello a', 'hello b', 'bye c']);
      expect(builds).toBe(1);
    });

    it('builds again after a failed build instead of keeping the failure', async () => {
      // Prepare
      let builds = 0;
      const { port } = lazyAdapter<Greeter>(
        async () => {
          if (++builds === 1) throw new Error('chunk not loaded');
          return new RealGreeter('hi');
        },
        { greet: true, farewell: true },
        { name: 'lazy' },
      );

      // Act
      const first = await port.greet('a').catch((error: unknown) => error);
      const second = await port.greet('b');

      // Assess
      expect(first).toMatchObject({ message: 'chunk not loaded' });
      expect(second).toBe('hi b');
      expect(builds).toBe(2);
    });
  });

  describe('load', () => {
    it('builds ahead of the first call, which then reuses it', async () => {
      // Prepare
      let builds = 0;
      const { port, load } = lazyAdapter<Greeter>(
        async () => {
          builds++;
          return new RealGreeter('hey');
        },
        { greet: true, farewell: true },
        { name: 'lazy' },
      );

      // Act
      await load();
      const answer = await port.greet('z');

      // Assess
      expect(answer).toBe('hey z');
      expect(builds).toBe(1);
    });
  });
});
