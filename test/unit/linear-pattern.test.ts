import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileLinearPattern,
  linearPatternProblem,
  UnsupportedPatternError,
} from '#lib/config/linear-pattern.ts';

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

  describe('reads the syntax as JavaScript does', () => {
    // Each row: pattern, flags, inputs JavaScript accepts, inputs it refuses (checked against it below).
    const cases: Array<[string, string, string[], string[]]> = [
      ['A$B', 'u', [], ['AB', 'A', 'B']],
      ['A^B', 'u', [], ['AB']],
      ['A|B|C', 'u', ['A', 'B', 'C'], ['D', 'AB', '']],
      ['A|B|C|D', 'u', ['C', 'D'], ['E']],
      ['a', 'u', ['a'], ['aa', 'ba', '']],
      ['ab{0}c', 'u', ['ac'], ['abc']],
      ['ab{0,0}c', 'u', ['ac'], ['abc']],
      ['a{2,}', 'u', ['aa', 'aaaaa'], ['a', '']],
      ['a{2,3}', 'u', ['aa', 'aaa'], ['a', 'aaaa']],
      ['a{b}c{2}', '', ['a{b}cc'], ['aacc', 'a{b}c']],
      ['a{,2}', '', ['a{,2}'], ['aa']],
      ['[\\]]', 'u', [']'], ['\\']],
      ['[\\]]b', 'u', [']b'], ['\\b']],
      ['[^]]', '', [']]', 'a]'], ['a']],
      ['\\.\\x41', 'u', ['.A'], ['aA']],
      ['\\u0041\\u{42}', 'u', ['AB'], ['u0041B']],
      ['a\\cJb', 'u', ['a\nb'], ['acJb']],
      ['a\\0', 'u', ['a\0'], ['a0']],
      // An octal escape in a class is JavaScript's to read (the class is tested by a one-character RegExp).
      ['\\.[\\01]', 'i', ['.\x01'], ['.0', '.1', '.\0']],
      ['\\\\1', 'u', ['\\1'], ['\\']],
      ['\\\\b', 'u', ['\\b'], ['b']],
      ['\\p{Lu}\\P{Lu}', 'u', ['Ab'], ['AB', 'ab']],
      ['(?<name>a)(?<n>b)', 'u', ['ab'], ['a']],
      ['.', 'u', ['\u{1F600}'], ['\u{1F600}\u{1F600}']],
      ['..', '', ['\u{1F600}'], []],
      ['\u{1F600}', '', ['\u{1F600}'], ['\uD83D']],
      ['\u{1F600}?', 'u', ['\u{1F600}', ''], ['\uD83D']],
      ['\\\u{1F600}', '', ['\u{1F600}'], ['\\\u{1F600}']],
    ];
    for (const [source, flags, accepted, refused] of cases) {
      it(`${source} (flags "${flags}")`, () => {
        // Prepare
        const anchored = `^(?:${source})$`;
        const reference = new RegExp(anchored, flags);

        // Act
        const compiled = compileLinearPattern(anchored, flags);

        // Assess
        for (const text of accepted) {
          expect([text, reference.test(text)]).toEqual([text, true]);
          expect([text, compiled.matches(text)]).toEqual([text, true]);
        }
        for (const text of refused) {
          expect([text, reference.test(text)]).toEqual([text, false]);
          expect([text, compiled.matches(text)]).toEqual([text, false]);
        }
      });
    }

    it('always matches the whole input, anchored or not', () => {
      expect(compileLinearPattern('a').matches('a')).toBe(true);
      expect(compileLinearPattern('a').matches('aa')).toBe(false);
      expect(compileLinearPattern('a|b').matches('ab')).toBe(false);
    });

    it('reads with the u flag unless told otherwise: . is one code point', () => {
      expect(compileLinearPattern('.').matches('\u{1F600}')).toBe(true);
      expect(compileLinearPattern('..').matches('\u{1F600}')).toBe(false);
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
      ['(?!ADMIN$)[A-Z]{1,8}', /^lookaround \(\?! at position 0 /],
      ['(?<=A)B', /^lookaround \(\?<= at position 0 /],
      ['(a)(?=b)', /^lookaround \(\?= at position 3 /],
      ['(a)\\1', /^backreference at position 3 /],
      ['(a)\\d\\1', /^backreference at position 5 /],
      ['(?<n>a)\\k<n>', /^backreference at position 7 /],
      ['\\bA', /^word boundary \\b or \\B at position 0 /],
      ['a\\d\\B', /^word boundary \\b or \\B at position 3 /],
      ['((a{100}){100}){100}', /^the pattern expands to more than 20000 states/],
      ['[', /^not a valid regular expression \(Invalid regular expression: /],
      // Valid without the u flag (Annex B), not with it: subject patterns are read with it.
      [']', /^not a valid regular expression/],
      ['a{', /^not a valid regular expression/],
    ];
    for (const [source, message] of cases) {
      it(source, () => {
        expect(linearPatternProblem(source)).toMatch(message);
      });
    }

    it.each(['i', '', 'iu', 'u'])(
      'refuses a legacy octal escape such as \\01 (flags "%s"): without u JavaScript reads it as one character',
      (flags) => {
        // Prepare: Annex B reads \01 as U+0001, not \0 and then 1; \08 is \0 and then 8, but is refused too.
        for (const source of ['^\\01$', 'a\\00', '\\07', '\\08']) {
          // Act
          const refusal = () => compileLinearPattern(source, flags);

          // Assess
          if (flags.includes('u')) expect(refusal).toThrow(SyntaxError);
          else expect(refusal).toThrow(/^legacy octal escape \\0\d at position \d+: write \\x/);
        }
        expect(compileLinearPattern('^\\0$', flags).matches('\0')).toBe(true);
      },
    );

    it('accepts what it can run', () => {
      expect(linearPatternProblem('^[A-Z0-9#$@]{1,8}$')).toBeUndefined();
    });

    it('refuses a group it does not know, such as a modifier group (?i:…), where JavaScript has it', () => {
      // Node 24 (V8 12.5+) reads (?i:a) as a modifier group; Node 20 refuses it as invalid.
      expect(linearPatternProblem('(?i:a)')).toMatch(
        /^(group \(\?i: at position 0 |not a valid regular expression)/,
      );
    });

    it('throws UnsupportedPatternError, named so, from compileLinearPattern', () => {
      // Act
      const refusal = () => compileLinearPattern('(?=a)a');

      // Assess
      expect(refusal).toThrow(UnsupportedPatternError);
      expect(refusal).toThrow(expect.objectContaining({ name: 'UnsupportedPatternError' }));
      expect(() => compileLinearPattern('(')).toThrow(SyntaxError);
    });

    it('allows 20000 automaton states and refuses one more', () => {
      // a{n} is n character states and the final match state.
      expect(() => compileLinearPattern('a{19999}')).not.toThrow();
      expect(() => compileLinearPattern('a{20000}')).toThrow(/more than 20000 states/);
    });
  });
});
