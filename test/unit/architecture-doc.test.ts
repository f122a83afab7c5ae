import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// docs/ARCHITECTURE.md is a newcomer's map: a file it names that no longer exists, or a walk whose
// figures no longer match its own tables, sends them the wrong way (issue 19, item 7).
const root = join(import.meta.dirname, '..', '..');
const page = readFileSync(join(root, 'docs', 'ARCHITECTURE.md'), 'utf8');

/** Every repository path the page names in backticks, `file:function` reduced to the file. */
function namedFiles(text: string): string[] {
  const paths = [...text.matchAll(/`([^`\s]+)`/g)]
    .map((match) => match[1]!.replace(/:[\w.]+$/, ''))
    .filter((candidate) =>
      /^(lib|functions|test|scripts|cli|bench|infra|docs|bin)\/[\w./-]*[\w/]$/.test(candidate),
    );
  return [...new Set(paths)];
}

/** The hops of the walk table that follows `heading` (rows `| n | \`file:function\` ↩? | what |`). */
function walk(heading: string): Array<{ file: string; fn: string; reverses: boolean }> {
  const start = page.indexOf(heading);
  expect(start, `the page has "${heading}"`).toBeGreaterThan(-1);
  const rows: Array<{ file: string; fn: string; reverses: boolean }> = [];
  const lines = page.slice(start).split('\n').slice(1);
  let inTable = false;
  for (const line of lines) {
    const hop = /^\| (\d+) \| `([^`:]+):([\w.]+)`( ↩)? \|/.exec(line);
    if (hop) {
      expect(Number(hop[1])).toBe(rows.length + 1);
      rows.push({ file: hop[2]!, fn: hop[3]!, reverses: hop[4] !== undefined });
      inTable = true;
    } else if (inTable && !line.startsWith('|')) break;
  }
  return rows;
}

/** The "after" column of a row of the before-and-after table. */
function afterColumn(label: string): string {
  const row = page.split('\n').find((line) => line.startsWith(`| ${label} |`));
  expect(row, `the before/after table has "${label}"`).toBeDefined();
  return row!.split(' | ').at(-1)!.replace(/ \|$/, '');
}

describe('docs/ARCHITECTURE.md', () => {
  it('names only files that exist', () => {
    const named = namedFiles(page);
    expect(named.length).toBeGreaterThan(50);
    expect(named.filter((file) => !existsSync(join(root, file)))).toEqual([]);
  });

  it('names, in the "to change X" table, only files that exist', () => {
    const table = page.slice(page.indexOf('## To change X, edit these files'), page.indexOf('## Tests'));
    const named = namedFiles(table);
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((file) => !existsSync(join(root, file)))).toEqual([]);
  });

  const walks = [
    ['facade password grant', '**Facade password grant**', 'facade: callbacks that reverse direction'],
    ['proxy call', '**Proxy mode**', 'proxy call: callbacks that reverse direction'],
  ] as const;

  it.each(walks)(
    'walks the %s through functions that exist, as many hops and files as it says',
    (label, heading, reversing) => {
      const hops = walk(heading);
      for (const { file, fn } of hops) {
        expect(existsSync(join(root, file)), file).toBe(true);
        expect(readFileSync(join(root, file), 'utf8'), `${file} has ${fn}`).toMatch(
          new RegExp(`\\b${fn}\\b`),
        );
      }
      const files = new Set(hops.map((hop) => hop.file)).size;
      expect(afterColumn(`${label}: hops / files`)).toBe(`${hops.length} / ${files}`);
      expect(afterColumn(reversing)).toMatch(new RegExp(`^${hops.filter((hop) => hop.reverses).length}\\b`));
    },
  );
});
