/**
 * Strict JSON for request bodies: `JSON.parse` keeps the last of two equal keys, so
 * `{"subject":"ADMIN1","subject":"CICSUSR1"}` would be read one way here and perhaps another way by a log
 * reader or a proxy in front. RFC 8259 4 says names SHOULD be unique; I-JSON (RFC 7493 2.3) says MUST.
 * Written here because neither JSON.parse nor zod sees duplicates, and a full parser library for 16 KiB
 * bodies would be more code to trust than this scan.
 * @see https://www.rfc-editor.org/rfc/rfc7493#section-2.3
 */

/** The first duplicated member name in an already valid JSON text, or undefined. */
export function duplicateJsonKey(text: string): string | undefined {
  // One entry per open object (its member names so far) or array (null).
  const open: Array<Set<string> | null> = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '{') {
      open.push(new Set());
      expectingKey = true;
    } else if (char === '[') {
      open.push(null);
    } else if (char === '}' || char === ']') {
      open.pop();
      expectingKey = false;
    } else if (char === ',') {
      expectingKey = open.at(-1) instanceof Set;
    } else if (char === '"') {
      const end = stringEnd(text, i);
      const names = open.at(-1);
      if (expectingKey && names) {
        // Decoded, so "\u0073ubject" and "subject" are the same name.
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (names.has(name)) return name;
        names.add(name);
        expectingKey = false;
      }
      i = end;
    }
  }
  return undefined;
}

/** Index of the quote closing the string that opens at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}
