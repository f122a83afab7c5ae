import { RE2JS } from 're2js';

/**
 * Why a subject pattern cannot be used, or undefined if it can. Subject patterns run on caller input, so
 * they run on RE2 (re2js), whose matching time is linear in the input whatever the pattern: `(a+)+b`
 * cannot stall a request. RE2 has no lookarounds or backreferences (they need backtracking); such
 * patterns are refused here, at config load, rather than silently changed.
 * @see https://github.com/google/re2/wiki/Syntax
 */
export function linearPatternProblem(source: string): string | undefined {
  try {
    RE2JS.compile(source);
    return undefined;
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : '';
    return `not a valid RE2 pattern (no lookaround, no backreference, repeats up to {1000}): ${detail}`;
  }
}
