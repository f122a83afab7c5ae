import type { SubjectRule } from '../assertion/subject.ts';
import { compileLinearPattern, type LinearPattern } from '../config/linear-pattern.ts';

/** `\p{…}`, `\P{…}`, `\u{…}`: escapes only the `u` flag reads as written. */
const UNICODE_ESCAPE = /\\[pPu]\{/;

/**
 * Compiles a subject pattern for linear-time matching (lib/config/linear-pattern.ts), anchored whatever
 * the configuration says (an unanchored CICS[0-9]+ would admit SYSADM/CICS9). On a target that folds
 * case, the user's identity is case-insensitive, so the pattern is too: `^[A-Z0-9#$@]{1,8}$` admits
 * CICSUSR1 for a target that maps it to cicsusr1@corp.example, and a pattern excluding ADMIN excludes
 * admin. Case-insensitive without the `u` flag where the pattern allows it: that mode canonicalizes with
 * toUpperCase, as the folding of `sub` does, while `iu` would also let the Kelvin sign (U+212A) through
 * `[A-Z]`, and it survives folding into `sub` unchanged.
 */
export function compileSubjectPattern(source: string, folding: SubjectRule['case']): LinearPattern {
  const anchored = `^(?:${source})$`;
  if (folding === 'preserve') return compileLinearPattern(anchored, 'u');
  // Without `u`, `\p{Lu}` is no syntax error but the literal text p{Lu} (Annex B): it would refuse every
  // user (or admit `{`). Such a pattern is read with `u`, as written.
  if (UNICODE_ESCAPE.test(source)) return compileLinearPattern(anchored, 'iu');
  try {
    return compileLinearPattern(anchored, 'i');
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return compileLinearPattern(anchored, 'iu'); // the pattern needs Unicode syntax (\p{…}, \u{…})
  }
}
