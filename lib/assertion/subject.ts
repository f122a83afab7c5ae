import { GatewayError } from '../errors.ts';

export interface SubjectRule {
  /** Must contain `{subject}`, e.g. `{subject}@corp.example`. */
  readonly template: string;
  /** Case folding applied to the caller's subject before it enters the template. */
  readonly case: 'preserve' | 'upper' | 'lower';
  /** Longest `sub` the authorization server accepts (Auth0: 64). */
  readonly maxLength: number;
}

const DEFAULT_SUBJECT_RULE: SubjectRule = { template: '{subject}', case: 'preserve', maxLength: 64 };

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators: none belongs in a user id, and
// each can forge lines in the authorization server's logs.
const CONTROL_CHARACTERS = /[\p{Cc}\u2028\u2029]/u;

/**
 * Maps the caller's end-user id to the assertion's `sub` (RFC 7523 3, item 2.A), rejecting ids that no
 * authorization server should see.
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export function mapSubject(subject: string, rule: SubjectRule = DEFAULT_SUBJECT_RULE): string {
  if (subject.length === 0) throw new GatewayError('ERR_SUBJECT_INVALID', 'subject is empty');
  if (CONTROL_CHARACTERS.test(subject)) {
    throw new GatewayError('ERR_SUBJECT_INVALID', 'subject contains control characters');
  }
  const folded = foldSubject(subject, rule.case);
  // A function, not a string: a string replacement would expand $$, $& and friends in the subject,
  // and RACF ids may contain $ (A$$B would become A$B, another user).
  const mapped = rule.template.replaceAll('{subject}', () => folded);
  if (mapped.length > rule.maxLength) {
    throw new GatewayError(
      'ERR_SUBJECT_INVALID',
      `subject maps to a sub of ${mapped.length} characters; the limit is ${rule.maxLength}`,
    );
  }
  return mapped;
}

/** The subject as it will stand in `sub` before the template: what the caller policy must also approve. */
export function foldSubject(subject: string, folding: SubjectRule['case']): string {
  return folding === 'upper' ? subject.toUpperCase() : folding === 'lower' ? subject.toLowerCase() : subject;
}
