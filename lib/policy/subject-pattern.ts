import { RE2JS } from 're2js';
import type { SubjectRule } from '../assertion/subject.ts';

/** A caller's subject pattern, matched against the whole subject in time linear in its length. */
export interface SubjectPattern {
  matches(subject: string): boolean;
}

/**
 * Characters outside ASCII that Unicode case folding (RE2's case-insensitive mode) equates with ASCII
 * letters: KELVIN SIGN with k, LATIN SMALL LETTER LONG S with s. In a user id they are look-alikes of
 * another user's id, and folding into `sub` keeps them as they are, so they never match a pattern
 * case-insensitively.
 */
const ASCII_LOOK_ALIKES = /[\u212A\u017F]/;

/**
 * Compiles a subject pattern with RE2 (linear time; see lib/config/linear-pattern.ts), anchored whatever
 * the configuration says (an unanchored CICS[0-9]+ would admit SYSADM/CICS9). On a target that folds case,
 * the user's identity is case-insensitive, so the pattern is too: `^[A-Z0-9#$@]{1,8}$` admits CICSUSR1 for
 * a target that maps it to cicsusr1@corp.example, and a pattern excluding ADMIN excludes admin.
 * @see https://github.com/google/re2/wiki/Syntax
 */
export function compileSubjectPattern(source: string, folding: SubjectRule['case']): SubjectPattern {
  const anchored = `^(?:${source})$`;
  if (folding === 'preserve') {
    const pattern = RE2JS.compile(anchored);
    return { matches: (subject) => pattern.matches(subject) };
  }
  const pattern = RE2JS.compile(anchored, RE2JS.CASE_INSENSITIVE);
  return { matches: (subject) => !ASCII_LOOK_ALIKES.test(subject) && pattern.matches(subject) };
}
