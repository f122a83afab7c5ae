/**
 * Regular expressions matched in time linear in the input: subject patterns run on caller input, and a
 * backtracking engine took 3.6 s for `(a+)+b` against 30 `a`s and a `!` (blocking every other request).
 *
 * Written here rather than taken from re2js (the RE2 port), which was measured first: it adds 150 kB to
 * every Lambda bundle (the 1 MB budget, and issue 12's 400 kB goal) and about 30 ms to a cold start,
 * and its Unicode case folding equates the Kelvin sign with `k`. This is a Thompson NFA run as a
 * Pike VM (a set of states per input character, so O(input × pattern)); each single-character test
 * (a literal, `.`, a class, `\d`, `\p{L}`...) is delegated to a one-character JavaScript RegExp, which
 * cannot backtrack, so characters and case-insensitivity mean exactly what they mean in JavaScript.
 *
 * Supported: literals, `.`, classes, character escapes, groups (capturing, `(?:…)`, named), `|`, `*`,
 * `+`, `?`, `{n}`, `{n,}`, `{n,m}` (lazy forms too: for a whole-string match they mean the same), `^`
 * and `$`. Refused, since no linear engine can run them: backreferences, lookarounds, `\b` and `\B`; and
 * legacy octal escapes (`\01`), which only JavaScript without the `u` flag reads, as one character.
 * @see https://swtch.com/~rsc/regexp/regexp1.html
 */

/** A compiled pattern; `matches` tests the whole input (the pattern is always anchored). */
export interface LinearPattern {
  matches(input: string): boolean;
}

/** Patterns whose automaton would grow past this are refused (`(…){1000}` nested, say). */
const MAX_STATES = 20_000;

export class UnsupportedPatternError extends Error {
  override readonly name = 'UnsupportedPatternError';
}

/**
 * Compiles `source` with JavaScript `flags` (`u`, `i`, both or none). Throws a SyntaxError for an invalid
 * pattern and an UnsupportedPatternError for one that cannot run in linear time.
 */
export function compileLinearPattern(source: string, flags = 'u'): LinearPattern {
  new RegExp(source, flags); // syntax errors, worded by the engine every reader knows
  const unicode = flags.includes('u');
  const program = new Compiler(new Parser(source, flags).parse(), flags).program();
  return { matches: (input) => run(program, unicode ? [...input] : input.split('')) };
}

/** Why a pattern cannot be used as a subject pattern, or undefined if it can. */
export function linearPatternProblem(source: string): string | undefined {
  try {
    compileLinearPattern(source, 'u');
    return undefined;
  } catch (error) {
    if (error instanceof UnsupportedPatternError) return error.message;
    return `not a valid regular expression (${(error as Error).message})`;
  }
}

// --- Syntax tree ---------------------------------------------------------------------------------

type Node =
  | { readonly kind: 'char'; readonly source: string }
  | { readonly kind: 'start' | 'end' | 'empty' }
  | { readonly kind: 'concat' | 'alternation'; readonly items: readonly Node[] }
  | { readonly kind: 'repeat'; readonly item: Node; readonly min: number; readonly max: number };

const UNBOUNDED = Number.POSITIVE_INFINITY;

class Parser {
  private position = 0;
  private readonly unicode: boolean;

  constructor(
    private readonly source: string,
    flags: string,
  ) {
    this.unicode = flags.includes('u');
  }

  parse(): Node {
    const node = this.alternation();
    if (this.position < this.source.length) throw this.unsupported(`unexpected ${this.peek()}`);
    return node;
  }

  private alternation(): Node {
    const items = [this.sequence()];
    while (this.peek() === '|') {
      this.position++;
      items.push(this.sequence());
    }
    return items.length === 1 ? items[0]! : { kind: 'alternation', items };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.position < this.source.length && this.peek() !== '|' && this.peek() !== ')') {
      items.push(this.quantified(this.atom()));
    }
    if (items.length === 0) return { kind: 'empty' };
    return items.length === 1 ? items[0]! : { kind: 'concat', items };
  }

  private quantified(item: Node): Node {
    const char = this.peek();
    let min: number;
    let max: number;
    if (char === '*' || char === '+' || char === '?') {
      this.position++;
      [min, max] = char === '*' ? [0, UNBOUNDED] : char === '+' ? [1, UNBOUNDED] : [0, 1];
    } else if (char === '{') {
      const bounds = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.position));
      if (!bounds) return item; // a literal `{` (without the u flag): atom() reads it next
      this.position += bounds[0].length;
      min = Number(bounds[1]);
      max = bounds[2] === undefined ? min : bounds[3] === '' ? UNBOUNDED : Number(bounds[3]);
    } else {
      return item;
    }
    if (this.peek() === '?') this.position++; // lazy: the same language for a whole-string match
    // A quantified anchor is always a group (`$?` is a syntax error), and its quantifier counts: `A($)?B`
    // may skip the `$` and accept "AB". The Pike VM runs a loop over an anchor once per position.
    return this.quantified({ kind: 'repeat', item, min, max });
  }

  private atom(): Node {
    const char = this.peek();
    if (char === '(') return this.group();
    if (char === '^' || char === '$') {
      this.position++;
      return { kind: char === '^' ? 'start' : 'end' };
    }
    if (char === '[') return { kind: 'char', source: this.characterClass() };
    if (char === '\\') return this.escape();
    // A literal (one code point with the u flag), or `.`.
    const literal = this.unicode ? String.fromCodePoint(this.source.codePointAt(this.position)!) : char;
    this.position += literal.length;
    return { kind: 'char', source: literal === '.' ? '.' : escapeLiteral(literal) };
  }

  private group(): Node {
    const rest = this.source.slice(this.position);
    const lookaround = /^\(\?(=|!|<=|<!)/.exec(rest);
    if (lookaround) throw this.unsupported(`lookaround ${lookaround[0]}`);
    const opening = /^\((\?:|\?<[^>]+>)?/.exec(rest)![0];
    if (rest.startsWith('(?') && opening === '(') throw this.unsupported(`group ${rest.slice(0, 4)}`);
    this.position += opening.length;
    const inner = this.alternation();
    this.position++; // `)`, present: the pattern compiled as JavaScript
    return inner;
  }

  private characterClass(): string {
    const start = this.position;
    this.position++; // `[`
    if (this.peek() === '^') this.position++;
    while (this.peek() !== ']') {
      if (this.peek() === '\\') this.position++;
      this.position++;
    }
    this.position++;
    return this.source.slice(start, this.position);
  }

  private escape(): Node {
    const rest = this.source.slice(this.position);
    if (/^\\[1-9]/.test(rest) || rest.startsWith('\\k<')) throw this.unsupported('backreference');
    if (/^\\[bB]/.test(rest)) throw this.unsupported('word boundary \\b or \\B');
    // Without the u flag, Annex B reads \01 as one octal escape (U+0001), not \0 and then 1; with it, the
    // RegExp constructor has refused it already. Refused rather than read as octal: \x01 says it plainly.
    if (/^\\0\d/.test(rest)) {
      throw new UnsupportedPatternError(
        `legacy octal escape ${rest.slice(0, 3)} at position ${this.position}: write \\x followed by two hex digits instead (\\0 stands only before a non-digit)`,
      );
    }
    const text =
      /^\\(?:[pP]\{[^}]*\}|u\{[0-9A-Fa-f]+\}|u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|c[A-Za-z])/.exec(rest)?.[0] ??
      rest.slice(
        0,
        rest.length > 1 && this.unicode ? 1 + String.fromCodePoint(rest.codePointAt(1)!).length : 2,
      );
    this.position += text.length;
    return { kind: 'char', source: text };
  }

  private peek(): string {
    return this.source[this.position] ?? '';
  }

  private unsupported(what: string): UnsupportedPatternError {
    return new UnsupportedPatternError(
      `${what} at position ${this.position} cannot run in linear time (no backreferences, lookarounds, \\b or \\B)`,
    );
  }
}

function escapeLiteral(char: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(char) ? `\\${char}` : char;
}

// --- Thompson NFA ----------------------------------------------------------------------------------

type State =
  | { kind: 'char'; test: (char: string) => boolean; next: number }
  | { kind: 'split'; next: number; alternative: number }
  | { kind: 'start' | 'end' | 'jump'; next: number }
  | { kind: 'match' };

interface Program {
  readonly states: readonly State[];
  readonly start: number;
}

/** A fragment under construction: its entry state and the states whose `next` is still open. */
interface Fragment {
  readonly entry: number;
  readonly exits: ReadonlyArray<{ readonly state: number; readonly field: 'next' | 'alternative' }>;
}

const OPEN = -1;

class Compiler {
  private readonly states: State[] = [];
  private readonly tests = new Map<string, (char: string) => boolean>();

  constructor(
    private readonly root: Node,
    private readonly flags: string,
  ) {}

  program(): Program {
    const fragment = this.compile(this.root);
    const match = this.add({ kind: 'match' });
    this.patch(fragment, match);
    return { states: this.states, start: fragment.entry };
  }

  private compile(node: Node): Fragment {
    switch (node.kind) {
      case 'char': {
        const state = this.add({ kind: 'char', test: this.test(node.source), next: OPEN });
        return { entry: state, exits: [{ state, field: 'next' }] };
      }
      case 'start':
      case 'end':
      case 'empty': {
        const state = this.add({ kind: node.kind === 'empty' ? 'jump' : node.kind, next: OPEN });
        return { entry: state, exits: [{ state, field: 'next' }] };
      }
      case 'concat': {
        const fragments = node.items.map((item) => this.compile(item));
        for (let i = 0; i < fragments.length - 1; i++) this.patch(fragments[i]!, fragments[i + 1]!.entry);
        return { entry: fragments[0]!.entry, exits: fragments.at(-1)!.exits };
      }
      case 'alternation': {
        const fragments = node.items.map((item) => this.compile(item));
        let entry = fragments.at(-1)!.entry;
        for (let i = fragments.length - 2; i >= 0; i--) {
          entry = this.add({ kind: 'split', next: fragments[i]!.entry, alternative: entry });
        }
        return { entry, exits: fragments.flatMap((fragment) => fragment.exits) };
      }
      case 'repeat':
        return this.repeat(node.item, node.min, node.max);
    }
  }

  /** `item{min,max}`: `min` copies, then `max - min` optional ones (or a loop when unbounded). */
  private repeat(item: Node, min: number, max: number): Fragment {
    const parts: Fragment[] = [];
    for (let i = 0; i < min; i++) parts.push(this.compile(item));
    if (max === UNBOUNDED) {
      const body = this.compile(item);
      const loop = this.add({ kind: 'split', next: body.entry, alternative: OPEN });
      this.patch(body, loop);
      parts.push({ entry: loop, exits: [{ state: loop, field: 'alternative' }] });
    } else {
      for (let i = min; i < max; i++) {
        const body = this.compile(item);
        const optional = this.add({ kind: 'split', next: body.entry, alternative: OPEN });
        parts.push({ entry: optional, exits: [...body.exits, { state: optional, field: 'alternative' }] });
      }
    }
    if (parts.length === 0) return this.compile({ kind: 'empty' });
    for (let i = 0; i < parts.length - 1; i++) this.patch(parts[i]!, parts[i + 1]!.entry);
    return { entry: parts[0]!.entry, exits: parts.at(-1)!.exits };
  }

  private add(state: State): number {
    if (this.states.length >= MAX_STATES) {
      throw new UnsupportedPatternError(
        `the pattern expands to more than ${MAX_STATES} states (lower its repeat counts)`,
      );
    }
    this.states.push(state);
    return this.states.length - 1;
  }

  private patch(fragment: Fragment, target: number): void {
    for (const { state, field } of fragment.exits) {
      (this.states[state] as Record<typeof field, number>)[field] = target;
    }
  }

  /** A one-character test; the RegExp is anchored and has no quantifier, so it cannot backtrack. */
  private test(source: string): (char: string) => boolean {
    let test = this.tests.get(source);
    if (!test) {
      const pattern = new RegExp(`^(?:${source})$`, this.flags);
      test = (char) => pattern.test(char);
      this.tests.set(source, test);
    }
    return test;
  }
}

// --- Pike VM ---------------------------------------------------------------------------------------

/** Runs the automaton over the input's characters, one set of live states per position. */
function run(program: Program, chars: readonly string[]): boolean {
  const { states } = program;
  let current = new Set<number>();
  const seen = new Uint32Array(states.length); // generation marks: each state once per position
  let generation = 0;
  const add = (set: Set<number>, index: number, position: number): void => {
    const stack = [index];
    while (stack.length > 0) {
      const at = stack.pop()!;
      if (seen[at] === generation) continue;
      seen[at] = generation;
      const state = states[at]!;
      switch (state.kind) {
        case 'split':
          stack.push(state.alternative, state.next);
          break;
        case 'jump':
          stack.push(state.next);
          break;
        case 'start':
          if (position === 0) stack.push(state.next);
          break;
        case 'end':
          if (position === chars.length) stack.push(state.next);
          break;
        default:
          set.add(at);
      }
    }
  };
  generation++;
  add(current, program.start, 0);
  for (let position = 0; position < chars.length && current.size > 0; position++) {
    const char = chars[position]!;
    const next = new Set<number>();
    generation++;
    for (const index of current) {
      const state = states[index]!;
      if (state.kind === 'char' && state.test(char)) add(next, state.next, position + 1);
    }
    current = next;
  }
  for (const index of current) if (states[index]!.kind === 'match') return true;
  return false;
}
