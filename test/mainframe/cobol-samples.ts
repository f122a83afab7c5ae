// Reads the COBOL samples of a Markdown page and checks them as a CICS translator and a COBOL compiler
// would: EXEC CICS commands against the command table (./cics-commands.ts), everything else with
// GnuCOBOL (`cobc -fsyntax-only -std=ibm`, fixed format). GnuCOBOL knows neither EXEC CICS nor JSON PARSE
// (3.1: "JSON PARSE is not implemented"), so both become statements that still reference every data name
// they use: an undefined name or a wrong reference fails the compile as it would on z/OS.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type CicsCommand, checkCicsCommand, parseCicsCommand } from './cics-commands.ts';

const run = promisify(execFile);

export type CobolUnit = { kind: 'program' | 'copybook'; name: string; text: string; firstLine: number };

/** The fenced blocks of one language, with the page line each starts on. */
export function fencedBlocks(markdown: string, language: string): Array<{ text: string; firstLine: number }> {
  const blocks: Array<{ text: string; firstLine: number }> = [];
  for (const match of markdown.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))) {
    const firstLine = markdown.slice(0, match.index).split('\n').length + 1;
    blocks.push({ text: match[1]!, firstLine });
  }
  return blocks;
}

/**
 * Every COBOL block is a program (PROGRAM-ID) or a copybook (its first comment names it: `* NAME - ...`).
 * A block that is neither is a fragment nobody can compile, which the page must not have.
 */
export function cobolUnits(markdown: string): CobolUnit[] {
  return fencedBlocks(markdown, 'cobol').map(({ text, firstLine }) => {
    const program = /PROGRAM-ID\. ([A-Z0-9]+)\./.exec(text)?.[1];
    if (program) return { kind: 'program', name: program, text, firstLine };
    const copybook = /^ {6}\* ([A-Z0-9]{1,8}) - /m.exec(text)?.[1];
    if (copybook) return { kind: 'copybook', name: copybook, text, firstLine };
    throw new Error(`the COBOL block at line ${firstLine} is neither a program nor a named copybook`);
  });
}

/** Fixed format: sequence area 1-6, indicator 7, code 8-72; nothing may reach column 73. */
export function layoutProblems(unit: CobolUnit): string[] {
  return unit.text.split('\n').flatMap((line, index) => {
    const at = `${unit.name} line ${unit.firstLine + index}`;
    if (line.length > 72) return [`${at}: ${line.length} columns; fixed format ends at column 72`];
    if (line.trim() !== '' && line.slice(0, 6).trim() !== '')
      return [`${at}: code in the sequence area (1-6)`];
    if (line.length > 6 && !' *-/D'.includes(line[6]!)) return [`${at}: column 7 must be blank, *, - or /`];
    return [];
  });
}

/** The EXEC CICS commands of a program, parsed, with their place in the source. */
function cicsCommands(unit: CobolUnit): Array<CicsCommand & { start: number; end: number }> {
  const source = withoutComments(unit.text);
  return [...source.matchAll(/EXEC CICS\s+([\s\S]*?)\s*END-EXEC/g)].map((match) => {
    const line = unit.firstLine + source.slice(0, match.index).split('\n').length - 1;
    return { ...parseCicsCommand(match[1]!, line), start: match.index!, end: match.index! + match[0].length };
  });
}

/** Comment lines blanked (kept as empty lines so positions and line numbers stay). */
function withoutComments(text: string): string {
  return text
    .split('\n')
    .map((line) => (line[6] === '*' || line[6] === '/' ? '' : line))
    .join('\n');
}

/** The PIC X(n) length of a data name declared in the unit or the copybooks, if any. */
function pictureLength(name: string, sources: string[]): number | undefined {
  for (const source of sources) {
    const declared = new RegExp(`^\\s+\\d\\d ${name}\\s+PIC X\\((\\d+)\\)`, 'm').exec(source);
    if (declared) return Number(declared[1]);
  }
  return undefined;
}

/**
 * The command table's findings, plus what the reference says about single options: MEDIATYPE is a
 * 56-character data area on WEB CONVERSE, and a RESP is worth giving only if it is tested before the next
 * command overwrites it.
 */
export function cicsProblems(unit: CobolUnit, copybooks: CobolUnit[]): string[] {
  const commands = cicsCommands(unit);
  const source = withoutComments(unit.text);
  const problems = commands.flatMap((command) => checkCicsCommand(command));
  for (const [index, command] of commands.entries()) {
    const mediaType = command.options.find((option) => option.name === 'MEDIATYPE')?.argument;
    if (command.verb === 'WEB CONVERSE' && mediaType && !mediaType.startsWith("'")) {
      const length = pictureLength(mediaType, [unit.text, ...copybooks.map((copybook) => copybook.text)]);
      if (length !== 56) {
        problems.push(
          `line ${command.line}: MEDIATYPE(${mediaType}) is ${length ?? 'not'} PIC X(56) (the reference's 56-character area)`,
        );
      }
    }
    const resp = command.options.find((option) => option.name === 'RESP')?.argument;
    if (!resp) continue;
    const next = commands
      .slice(index + 1)
      .find((later) => later.options.some((option) => option.argument === resp));
    const between = source.slice(command.end, next?.start ?? source.length);
    if (!new RegExp(`\\b${resp}\\b`).test(between)) {
      problems.push(
        `line ${command.line}: EXEC CICS ${command.verb} sets RESP(${resp}) and nothing tests it`,
      );
    }
  }
  return problems;
}

/** The data names an EXEC CICS or JSON PARSE argument refers to (literals and LENGTH OF dropped). */
function referencedNames(argument: string): string[] {
  const bare = argument.replace(/'[^']*'/g, ' ').replace(/\bLENGTH OF\b/g, ' ');
  const name = /^\s*([A-Z][A-Z0-9-]*)/.exec(bare)?.[1];
  return name ? [name] : [];
}

/**
 * The unit as GnuCOBOL can compile it: each EXEC CICS ... END-EXEC and JSON PARSE ... END-JSON becomes
 * `INITIALIZE` of the data names it uses (a syntax check does not run it), DFHRESP/DFHVALUE become numbers.
 */
function compilable(unit: CobolUnit): string {
  const replaceStatement = (text: string, pattern: RegExp, names: (body: string) => string[]) =>
    text.replace(pattern, (statement: string, body: string) => {
      const lines = statement.split('\n').length;
      const used = [...new Set(names(body))];
      if (used.length === 0) return `CONTINUE${'\n'.repeat(lines - 1)}`;
      // One name per line where the statement had lines, so compiler messages point near the page's
      // lines, and every line stays inside column 72.
      const packed = used.map((name, index) =>
        index === 0 ? `INITIALIZE ${name}` : `${' '.repeat(14)}${name}`,
      );
      return packed.join('\n') + '\n'.repeat(Math.max(0, lines - packed.length));
    });
  let text = withoutComments(unit.text);
  text = replaceStatement(text, /EXEC CICS\s+([\s\S]*?)\s*END-EXEC/g, (body) =>
    parseCicsCommand(body, 0).options.flatMap((option) =>
      option.argument === undefined || option.name === 'SET' ? [] : referencedNames(option.argument),
    ),
  );
  text = replaceStatement(text, /JSON PARSE\s+([\s\S]*?)\s*END-JSON/g, (body) => {
    const source = referencedNames(body);
    const into = /\bINTO\s+([A-Z][A-Z0-9-]*)/.exec(body)?.[1];
    const named = [...body.matchAll(/\b([A-Z][A-Z0-9-]*)\s+IS\s+'/g)].map((match) => match[1]!);
    return [...source, ...(into ? [into] : []), ...named];
  });
  // The translator's own functions: any fullword constant keeps the syntax check honest.
  text = text.replace(/DFH(RESP|VALUE)\([A-Z0-9]+\)/g, '0');
  return text;
}

/** GnuCOBOL's messages for the page's programs, compiled with its copybooks (and the IBM stubs). */
export async function compileUnits(
  units: CobolUnit[],
  extraCopybooks: Record<string, string>,
): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'jbg-cobol-'));
  try {
    for (const [name, text] of Object.entries(extraCopybooks))
      await writeFile(join(dir, `${name}.cpy`), text);
    for (const unit of units.filter((candidate) => candidate.kind === 'copybook')) {
      await writeFile(join(dir, `${unit.name}.cpy`), unit.text);
    }
    const messages: string[] = [];
    for (const unit of units.filter((candidate) => candidate.kind === 'program')) {
      const file = join(dir, `${unit.name}.cbl`);
      await writeFile(file, compilable(unit));
      try {
        await run('cobc', ['-fsyntax-only', '-std=ibm', '-fixed', '-I', dir, file]);
      } catch (error) {
        const { stderr, stdout } = error as { stderr?: string; stdout?: string };
        const text = `${stdout ?? ''}${stderr ?? ''}`.trim();
        // Map "JBGCALL.cbl:12: error" back to the page's line numbers.
        messages.push(
          ...text
            .split('\n')
            .filter((line) => /error/.test(line))
            .map((line) =>
              line.replace(
                /^.*?\.cbl:(\d+):/,
                (_match, number: string) => `${unit.name} line ${unit.firstLine + Number(number) - 1}:`,
              ),
            ),
        );
      }
    }
    return messages;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Null when cobc runs; otherwise the one line that says what to install. */
export async function missingCompiler(): Promise<string | null> {
  try {
    await run('cobc', ['--version']);
    return null;
  } catch {
    return 'cobc not found: install GnuCOBOL (Debian: apt-get install -y gnucobol; .ci/run does this)';
  }
}

/** One `STRING ... INTO target` statement of a program: its sending items in order. */
export type StringStatement = {
  into: string;
  items: Array<{ literal?: string; field?: string; delimiter: 'SIZE' | 'SPACE' }>;
};

/** The STRING statements of a program that fill `into`, in source order. */
export function stringStatements(unit: CobolUnit, into: string): StringStatement[] {
  const source = withoutComments(unit.text);
  return [...source.matchAll(/\bSTRING\s+([\s\S]*?)\s+INTO\s+([A-Z0-9-]+)/g)]
    .filter((match) => match[2] === into)
    .map((match) => {
      const items: StringStatement['items'] = [];
      let group: Array<{ literal?: string; field?: string }> = [];
      for (const token of match[1]!.matchAll(
        /'([^']*)'|DELIMITED BY (SIZE|SPACE)|([A-Z][A-Z0-9-]*)(\([^)]*\))?/g,
      )) {
        if (token[2]) {
          items.push(...group.map((item) => ({ ...item, delimiter: token[2] as 'SIZE' | 'SPACE' })));
          group = [];
        } else if (token[1] !== undefined) group.push({ literal: token[1] });
        else group.push({ field: token[3]! });
      }
      return { into, items };
    });
}

/**
 * What a STRING statement puts in its target, given the fields' contents (blank-padded as COBOL holds
 * them): DELIMITED BY SPACE stops at the first blank, SIZE takes all. A reference-modified field
 * (`ACCESS-TOKEN(1:WS-TOKEN-LEN)`) is given here already cut to length.
 */
export function evaluateString(statement: StringStatement, fields: Record<string, string>): string {
  return statement.items
    .map((item) => {
      const value = item.literal ?? fields[item.field!];
      if (value === undefined) throw new Error(`no value for ${item.field}`);
      return item.delimiter === 'SPACE' ? value.split(' ')[0]! : value;
    })
    .join('');
}
