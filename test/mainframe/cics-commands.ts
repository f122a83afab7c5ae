// The EXEC CICS commands the samples in docs/MAINFRAME.md may use, with the argument kind of each option, as
// the CICS TS command reference gives them (syntax diagrams of WEB OPEN, WEB CONVERSE, WEB SEND (client),
// WEB RECEIVE (client), WEB WRITE HTTPHEADER, WEB READ HTTPHEADER, WEB CLOSE, ASSIGN, ABEND, RETURN; CICS TS
// 5.3-6.x, https://www.ibm.com/docs/SSGMCP_5.5.0/reference/commands-api/dfhp4_webconverse.html and its
// siblings). Hand-written: no machine-readable form of the reference exists.
//
//   data-value  a literal or a data name (CICS reads it)
//   data-area   a data name only (CICS reads or writes the storage itself; a literal is refused)
//   cvda        a fullword set with DFHVALUE(keyword), never the keyword itself in parentheses
//   flag        a bare keyword without parentheses (GET, CLOSE, NOINCONVERT, ...)
//   name        a literal or a data name (ABCODE, TRANSID)
//   ptr-ref     a pointer reference

type OptionKind = 'data-value' | 'data-area' | 'cvda' | 'flag' | 'name' | 'ptr-ref';

type CommandSpec = {
  readonly options: Readonly<Record<string, OptionKind>>;
  /** Options every use must have. */
  readonly required?: readonly string[];
  /** Whether the command returns (so RESP must be given and tested). ABEND and RETURN do not. */
  readonly returns: boolean;
};

const METHODS = {
  GET: 'flag',
  HEAD: 'flag',
  PATCH: 'flag',
  POST: 'flag',
  PUT: 'flag',
  TRACE: 'flag',
  OPTIONS: 'flag',
  DELETE: 'flag',
} as const;
const CLIENT_CONVERSION = {
  CHARACTERSET: 'data-value',
  CLICONVERT: 'flag',
  NOCLICONVERT: 'flag',
  CLIENTCONV: 'cvda',
} as const;

const CICS_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  'WEB OPEN': {
    returns: true,
    required: ['SESSTOKEN'],
    options: {
      URIMAP: 'data-value',
      HOST: 'data-value',
      HOSTLENGTH: 'data-value',
      PORTNUMBER: 'data-value',
      SCHEME: 'cvda',
      CERTIFICATE: 'data-value',
      CIPHERS: 'data-value',
      NUMCIPHERS: 'data-value',
      CODEPAGE: 'data-value',
      SESSTOKEN: 'data-area',
      HTTPVNUM: 'data-area',
      HTTPRNUM: 'data-area',
    },
  },
  'WEB CONVERSE': {
    returns: true,
    required: ['SESSTOKEN', 'TOLENGTH'],
    options: {
      SESSTOKEN: 'data-value',
      PATH: 'data-area',
      PATHLENGTH: 'data-value',
      URIMAP: 'data-value',
      ...METHODS,
      METHOD: 'cvda',
      MEDIATYPE: 'data-area',
      QUERYSTRING: 'data-area',
      QUERYSTRLEN: 'data-value',
      DOCTOKEN: 'data-value',
      NODOCDELETE: 'flag',
      DOCDELETE: 'flag',
      DOCSTATUS: 'cvda',
      FROM: 'data-area',
      FROMLENGTH: 'data-value',
      CONTAINER: 'data-value',
      CHANNEL: 'data-value',
      ACTION: 'cvda',
      EXPECT: 'flag',
      NOCLOSE: 'flag',
      CLOSE: 'flag',
      CLOSESTATUS: 'cvda',
      NONE: 'flag',
      BASICAUTH: 'flag',
      AUTHENTICATE: 'cvda',
      USERNAME: 'data-value',
      USERNAMELEN: 'data-value',
      PASSWORD: 'data-value',
      PASSWORDLEN: 'data-value',
      INTO: 'data-area',
      SET: 'ptr-ref',
      TOCONTAINER: 'data-value',
      TOCHANNEL: 'data-value',
      TOLENGTH: 'data-area',
      MAXLENGTH: 'data-value',
      NOTRUNCATE: 'flag',
      STATUSCODE: 'data-area',
      STATUSTEXT: 'data-area',
      STATUSLEN: 'data-value',
      BODYCHARSET: 'data-area',
      ...CLIENT_CONVERSION,
      NOINCONVERT: 'flag',
      NOOUTCONVERT: 'flag',
    },
  },
  'WEB SEND': {
    returns: true,
    required: ['SESSTOKEN'],
    options: {
      SESSTOKEN: 'data-value',
      PATH: 'data-area',
      PATHLENGTH: 'data-value',
      URIMAP: 'data-value',
      ...METHODS,
      METHOD: 'cvda',
      MEDIATYPE: 'data-value',
      QUERYSTRING: 'data-area',
      QUERYSTRLEN: 'data-value',
      DOCTOKEN: 'data-value',
      FROM: 'data-area',
      FROMLENGTH: 'data-value',
      CONTAINER: 'data-value',
      CHANNEL: 'data-value',
      ACTION: 'cvda',
      EXPECT: 'flag',
      NOCLOSE: 'flag',
      CLOSE: 'flag',
      CLOSESTATUS: 'cvda',
      CHUNKING: 'cvda',
      CHUNKNO: 'flag',
      CHUNKYES: 'flag',
      CHUNKEND: 'flag',
      ...CLIENT_CONVERSION,
    },
  },
  'WEB RECEIVE': {
    returns: true,
    required: ['SESSTOKEN'],
    options: {
      SESSTOKEN: 'data-value',
      MEDIATYPE: 'data-area',
      STATUSCODE: 'data-area',
      STATUSTEXT: 'data-area',
      STATUSLEN: 'data-value',
      INTO: 'data-area',
      SET: 'ptr-ref',
      LENGTH: 'data-area',
      MAXLENGTH: 'data-value',
      NOTRUNCATE: 'flag',
      CLICONVERT: 'flag',
      NOCLICONVERT: 'flag',
      CLIENTCONV: 'cvda',
      BODYCHARSET: 'data-area',
      TOCONTAINER: 'data-value',
      TOCHANNEL: 'data-value',
    },
  },
  'WEB WRITE': {
    returns: true,
    required: ['HTTPHEADER', 'VALUE', 'SESSTOKEN'],
    options: {
      HTTPHEADER: 'data-area',
      NAMELENGTH: 'data-value',
      SESSTOKEN: 'data-value',
      VALUE: 'data-area',
      VALUELENGTH: 'data-value',
    },
  },
  'WEB READ': {
    returns: true,
    required: ['HTTPHEADER', 'VALUE', 'VALUELENGTH', 'SESSTOKEN'],
    options: {
      HTTPHEADER: 'data-area',
      NAMELENGTH: 'data-value',
      SESSTOKEN: 'data-value',
      VALUE: 'data-area',
      VALUELENGTH: 'data-area',
    },
  },
  'WEB CLOSE': { returns: true, required: ['SESSTOKEN'], options: { SESSTOKEN: 'data-value' } },
  ASSIGN: { returns: true, options: { USERID: 'data-area', APPLID: 'data-area', NETNAME: 'data-area' } },
  ABEND: { returns: false, options: { ABCODE: 'name', CANCEL: 'flag', NODUMP: 'flag' } },
  RETURN: { returns: false, options: { TRANSID: 'name', COMMAREA: 'data-area', LENGTH: 'data-value' } },
};

/** Options every command accepts (the CICS "common options"). */
const COMMON: Readonly<Record<string, OptionKind>> = {
  RESP: 'data-area',
  RESP2: 'data-area',
  NOHANDLE: 'flag',
};

/** Keywords that are CVDA values: written bare as flags, or through DFHVALUE(...) in a fullword. */
const CVDA_KEYWORDS = new Set([
  ...Object.keys(METHODS),
  'CLOSE',
  'NOCLOSE',
  'CLICONVERT',
  'NOCLICONVERT',
  'NOINCONVERT',
  'NOOUTCONVERT',
  'HTTP',
  'HTTPS',
  'EXPECT',
  'BASICAUTH',
  'NONE',
]);

export type CicsCommand = { verb: string; options: Array<{ name: string; argument?: string }>; line: number };

/** Splits `WEB CONVERSE SESSTOKEN(X) GET PATH(Y) ...` into its verb and options (arguments may nest). */
export function parseCicsCommand(text: string, line: number): CicsCommand {
  const tokens: Array<{ name: string; argument?: string }> = [];
  let rest = text.replace(/\s+/g, ' ').trim();
  while (rest.length > 0) {
    const name = /^[A-Z0-9-]+/.exec(rest)?.[0];
    if (!name) throw new Error(`line ${line}: cannot read the EXEC CICS text at "${rest.slice(0, 20)}"`);
    rest = rest.slice(name.length);
    if (rest.startsWith('(')) {
      let depth = 0;
      let end = 0;
      let quoted = false;
      for (; end < rest.length; end += 1) {
        const char = rest[end];
        if (char === "'") quoted = !quoted;
        if (quoted) continue;
        if (char === '(') depth += 1;
        if (char === ')') depth -= 1;
        if (depth === 0) break;
      }
      tokens.push({ name, argument: rest.slice(1, end).trim() });
      rest = rest.slice(end + 1);
    } else {
      tokens.push({ name });
    }
    rest = rest.trimStart();
  }
  const [first, second] = tokens;
  const twoWord = first?.name === 'WEB' && second !== undefined;
  const verb = twoWord ? `WEB ${second.name}` : (first?.name ?? '');
  // WEB WRITE HTTPHEADER(x) / WEB READ HTTPHEADER(x): the header option follows the verb directly.
  const options = tokens.slice(twoWord ? 2 : 1);
  return { verb, options, line };
}

const isLiteral = (argument: string) => /^'.*'$|^"[^"]*"$|^[+-]?\d+$/.test(argument);
const isLengthOf = (argument: string) => /^LENGTH OF /.test(argument);

/** What is wrong with one command against the reference table (empty when nothing). */
export function checkCicsCommand(command: CicsCommand): string[] {
  const spec = CICS_COMMANDS[command.verb];
  const where = `line ${command.line}: EXEC CICS ${command.verb}`;
  if (!spec) return [`${where}: not in the command table (add it from the CICS command reference)`];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const { name, argument } of command.options) {
    const kind = spec.options[name] ?? COMMON[name];
    if (seen.has(name)) problems.push(`${where}: ${name} given twice`);
    seen.add(name);
    if (!kind) {
      problems.push(`${where}: unknown option ${name}`);
      continue;
    }
    if (kind === 'flag') {
      if (argument !== undefined) problems.push(`${where}: ${name} takes no argument`);
      continue;
    }
    if (argument === undefined || argument === '') {
      problems.push(`${where}: ${name} needs an argument`);
      continue;
    }
    if (kind === 'cvda' && CVDA_KEYWORDS.has(argument)) {
      problems.push(
        `${where}: ${name}(${argument}) puts a CVDA keyword in parentheses: write ${argument} alone, or ${name}(fullword) with the fullword set by DFHVALUE(${argument})`,
      );
    }
    if (
      (kind === 'data-area' || kind === 'cvda' || kind === 'ptr-ref') &&
      (isLiteral(argument) || isLengthOf(argument))
    ) {
      problems.push(`${where}: ${name}(${argument}) is a literal where the reference requires a data area`);
    }
  }
  for (const name of spec.required ?? []) {
    if (!seen.has(name)) problems.push(`${where}: ${name} is required`);
  }
  if (spec.returns && !seen.has('RESP') && !seen.has('NOHANDLE')) {
    problems.push(`${where}: no RESP: an unchecked failure would go unnoticed`);
  }
  return problems;
}
