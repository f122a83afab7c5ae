import { ApiError } from './api-errors.ts';

/**
 * Recognises the commonest first-try mistake of a mainframe caller: a body sent in the program's EBCDIC
 * code page instead of UTF-8 (CICS converts only with CHARACTERSET, HWTH only with its TRANSLATE
 * options). Only a body that is not UTF-8 is examined, and it is named EBCDIC only if it decodes, in
 * IBM-037 or IBM-1047, to what the endpoint expects (JSON, or a form with grant_type): a random binary
 * body stays an ordinary invalid_request. Node has no EBCDIC decoder (no ICU converter is exposed), and
 * the printable ASCII range is all a JSON or form body of this API uses, so the table is written here.
 */
type CodePage = 'IBM-037' | 'IBM-1047';

/** Printable ASCII in IBM-037, by EBCDIC byte; IBM-1047 differs in four positions (see below). */
const IBM037: Record<number, string> = {
  64: ' ',
  75: '.',
  76: '<',
  77: '(',
  78: '+',
  79: '|',
  80: '&',
  90: '!',
  91: '$',
  92: '*',
  93: ')',
  94: ';',
  96: '-',
  97: '/',
  107: ',',
  108: '%',
  109: '_',
  110: '>',
  111: '?',
  121: '`',
  122: ':',
  123: '#',
  124: '@',
  125: "'",
  126: '=',
  127: '"',
  161: '~',
  192: '{',
  208: '}',
  224: '\\',
  // Line ends and tab, as JSON whitespace: NL (0x15), LF (0x25), CR, HT.
  21: '\n',
  37: '\n',
  13: '\r',
  5: '\t',
};
const letters = (from: number, chars: string) => {
  for (const [index, char] of [...chars].entries()) IBM037[from + index] = char;
};
letters(0x81, 'abcdefghi');
letters(0x91, 'jklmnopqr');
letters(0xa2, 'stuvwxyz');
letters(0xc1, 'ABCDEFGHI');
letters(0xd1, 'JKLMNOPQR');
letters(0xe2, 'STUVWXYZ');
letters(0xf0, '0123456789');

const TABLES: Record<CodePage, Record<number, string>> = {
  'IBM-037': { ...IBM037, 186: '[', 187: ']', 176: '^' },
  'IBM-1047': { ...IBM037, 173: '[', 189: ']', 95: '^' },
};

function decode(bytes: Uint8Array, codePage: CodePage): string | undefined {
  const table = TABLES[codePage];
  let text = '';
  for (const byte of bytes) {
    const char = table[byte];
    if (char === undefined) return undefined;
    text += char;
  }
  return text;
}

const isJson = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};
const isTokenForm = (text: string) => /^[A-Za-z0-9._~%+=&-]*$/.test(text) && /(^|&)grant_type=/.test(text);

/** The EBCDIC code page the bytes are an intended body in, if any (JSON or an RFC 6749 form). */
export function ebcdicCodePage(bytes: Uint8Array, expected: 'json' | 'form'): CodePage | undefined {
  // A body this small is no body, and a large one is not worth decoding twice.
  if (bytes.length < 2 || bytes.length > 65_536) return undefined;
  const looksRight = expected === 'json' ? isJson : isTokenForm;
  return (['IBM-037', 'IBM-1047'] as const).find((codePage) => {
    const text = decode(bytes, codePage);
    return text !== undefined && looksRight(text);
  });
}

/** The 400 that says what was received and how to send UTF-8 instead. */
export function ebcdicBodyError(codePage: CodePage): ApiError {
  return new ApiError(
    'ebcdic_body',
    `the body is EBCDIC (${codePage}), not UTF-8: send it as UTF-8 (CICS: CHARACTERSET('UTF-8') on ` +
      'WEB CONVERSE or WEB SEND; z/OS Client Web Enablement Toolkit: HWTH_OPT_TRANSLATE_REQBODY = ' +
      'HWTH_XLATE_REQBODY_E2A)',
  );
}
