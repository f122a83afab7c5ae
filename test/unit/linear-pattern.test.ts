import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileLinearPattern, linearPatternProblem } from '#lib/config/linear-pattern.ts';

/**
 * Random patterns from the supported syntax, over a small alphabet so that matches are frequent. Kept
 * small: JavaScript's own engine, the reference here, backtracks exponentially on larger random ones
 * (one took 142 s against 8 characters while this test was written).
 */
const pattern: fc.Arbitrary<string> = fc.letrec<{ node: string; atom: string }>((tie) => ({
  atom: fc.oneof(
    { maxDepth: 2, withCrossShrink: true },
    fc.constantFrom('a', 'b', 'A', '.', '[ab]', '[^a]', '\\d', '\\w', '\\s', '[a-c0-9]', '\\.', 'ß', 'K'),
    tie('node').map((inner) => `(${inner})`),
    tie('node').map((inner) => `(?:${inner})`),
  ),
  node: fc
    .array(
      fc.tuple(tie('atom'), fc.constantFrom('', '', '*', '+', '?', '{2}', '{1,3}', '{0,}', '*?', '+?')),
      { minLength: 0, maxLength: 3 },
    )
    .chain((items) =>
      fc.constantFrom('', '|').chain((bar) =>
        tie('atom').map((alternative) => {
          const sequence = items.map(([atom, quantifier]) => `${atom}${quantifier}`).join('');
          return bar ? `${sequence}|${alternative}` : sequence;
        }),
      ),
    ),
})).node;

const input = fc
  .array(fc.constantFrom('a', 'b', 'A', 'c', '1', ' ', '.', 'ß', 'K', '\u212A', '-'), { maxLength: 6 })
  .map((chars) => chars.join(''));

describe('compileLinearPattern', () => {
  describe('matches what JavaScript matches', () => {
    for (const flags of ['u', 'i', 'iu', '']) {
      it(`on random patterns and inputs (flags "${flags}")`, () => {
        fc.assert(
          fc.property(pattern, input, (source, text) => {
            const anchored = `^(?:${source})$`;
            expect(compileLinearPattern(anchored, flags).matches(text)).toBe(
              new RegExp(anchored, flags).test(text),
            );
          }),
          { numRuns: 2000 },
        );
      });
    }

    it('on the patterns the configuration uses', () => {
      // Prepare
      const cases: Array<[string, string, string[], string[]]> = [
        ['^[A-Z0-9#$@]{1,8}$', 'u', ['CICSUSR1', 'A$#@', 'X'], ['cicsusr1', 'CICSUSR12', '', 'A B']],
        ['^BATCH[0-9]{2}$', 'u', ['BATCH01'], ['BATCH1', 'BATCH011', 'batch01']],
        ['CICS|BATCH', 'u', ['CICS', 'BATCH'], ['CICSBATCH', 'CIC']],
        ['\\p{Lu}{2,3}', 'u', ['ÀB', 'ABC'], ['A', 'abc', 'ABCD']],
        ['[^\\s]{1,4}\\u{1F600}', 'u', ['ab\u{1F600}'], ['a b\u{1F600}']],
        ['[A-Z]{1,8}', 'i', ['CicsUsr'], ['K\u212A', 'ſ']],
      ];

      // Act + Assess
      for (const [source, flags, accepted, refused] of cases) {
        const compiled = compileLinearPattern(`^(?:${source})$`, flags);
        for (const text of accepted)
          expect([source, text, compiled.matches(text)]).toEqual([source, text, true]);
        for (const text of refused)
          expect([source, text, compiled.matches(text)]).toEqual([source, text, false]);
      }
    });
  });

  describe('anchors', () => {
    it('keeps a quantified anchor-only group optional: A($)?B and A(^)*B accept "AB" as JavaScript does', () => {
      // Prepare: a group holding only an anchor may be skipped, so the anchor never has to hold.
      const cases: Array<[string, string, boolean]> = [
        ['A($)?B', 'AB', true],
        ['A(^)*B', 'AB', true],
        ['A(?:$){0,2}B', 'AB', true],
        ['A($){0}B', 'AB', true],
        ['A(?:$)+B', 'AB', false],
        ['A(^)B', 'AB', false],
        ['(^)+A($)+', 'A', true],
      ];

      // Act + Assess: the same answers as JavaScript's engine, flag by flag.
      for (const flags of ['u', '']) {
        for (const [source, text, expected] of cases) {
          const anchored = `^(?:${source})$`;
          expect(new RegExp(anchored, flags).test(text)).toBe(expected);
          expect([source, flags, compileLinearPattern(anchored, flags).matches(text)]).toEqual([
            source,
            flags,
            expected,
          ]);
        }
      }
    });
  });

  describe('runs in linear time', () => {
    it('answers (a+)+b, (a|a)*b and \\w*\\w*\\w*\\w*x against long inputs at once', () => {
      // Act + Assess: with a backtracking engine each of these takes longer than the age of the universe.
      expect(compileLinearPattern('^(?:(a+)+b)$').matches(`${'a'.repeat(256)}!`)).toBe(false);
      expect(compileLinearPattern('^(?:(a|a)*b)$').matches(`${'a'.repeat(256)}!`)).toBe(false);
      expect(compileLinearPattern('^(?:\\w*\\w*\\w*\\w*\\w*\\w*x)$').matches('a'.repeat(256))).toBe(false);
    });
  });

  describe('refuses what cannot run in linear time, naming it', () => {
    const cases: Array<[string, RegExp]> = [
      ['(?!ADMIN$)[A-Z]{1,8}', /lookaround \(\?!/],
      ['(?<=A)B', /lookaround \(\?<=/],
      ['(a)\\1', /backreference/],
      ['(?<n>a)\\k<n>', /backreference/],
      ['\\bA', /word boundary/],
      ['((a{100}){100}){100}', /more than 20000 states/],
      ['[', /not a valid regular expression/],
    ];
    for (const [source, message] of cases) {
      it(source, () => {
        expect(linearPatternProblem(source)).toMatch(message);
      });
    }
  });
});
