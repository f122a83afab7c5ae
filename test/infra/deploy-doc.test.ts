// docs/DEPLOY.md's params table is the deployer's list of choices: it must name every param serverless.yml
// declares (params.default), with the default serverless.yml gives it, and nothing serverless.yml lacks.
// The stack outputs are checked against the packaged templates in deployable.test.ts.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

const ROOT = new URL('../../', import.meta.url);

/** serverless.yml's default params, as YAML gives them (CloudFormation tags elsewhere left unresolved). */
async function declaredParams(): Promise<Record<string, unknown>> {
  const document = parseDocument(await readFile(new URL('serverless.yml', ROOT), 'utf8'), {
    logLevel: 'silent',
  });
  return (document.toJS() as { params: { default: Record<string, unknown> } }).params.default;
}

/** A param's default as DEPLOY.md writes it: `'true'`, `"100"`, 90, empty, or a remark in parentheses. */
const documentedDefault = (cell: string) => {
  const plain = cell
    .replace(/\s*\(.*\)\s*$/, '')
    .replaceAll('`', '')
    .trim();
  if (plain === 'empty') return '';
  return plain.replace(/^(['"])(.*)\1$/, '$2');
};

/** Each param DEPLOY.md's params table names, with its documented default. */
async function documentedParams(): Promise<Map<string, string>> {
  const text = await readFile(new URL('docs/DEPLOY.md', ROOT), 'utf8');
  const table = text.slice(text.indexOf('| param | default |'));
  const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
  const documented = new Map<string, string>();
  for (const row of rows) {
    const [names = '', defaults = ''] = row.split(' | ').map((cell) => cell.replace(/^\| /, ''));
    const params = [...names.matchAll(/`([A-Za-z]+)`/g)].map((match) => match[1]!);
    // One default per param ("`'true'`, `'false'`"), or one for all of them.
    const parts = defaults.split(/,\s+(?![^(]*\))/);
    params.forEach((param, index) => {
      documented.set(param, documentedDefault(parts.length === params.length ? parts[index]! : defaults));
    });
  }
  return documented;
}

describe('docs/DEPLOY.md, the params table', () => {
  it('names exactly the params serverless.yml declares', async () => {
    // Act
    const declared = Object.keys(await declaredParams()).sort();
    const documented = [...(await documentedParams()).keys()].sort();

    // Assess
    expect(declared.length).toBeGreaterThan(30);
    expect(documented).toEqual(declared);
  });

  it('gives each the default serverless.yml gives it (stage-dependent defaults are explained instead)', async () => {
    // Prepare
    const declared = await declaredParams();
    const documented = await documentedParams();

    // Act
    const mismatched = Object.entries(declared)
      .filter(([, value]) => !String(value).includes('${'))
      .filter(([name, value]) => documented.get(name) !== String(value))
      .map(
        ([name, value]) =>
          `${name}: serverless.yml ${JSON.stringify(value)}, DEPLOY.md ${documented.get(name)}`,
      );

    // Assess
    expect(mismatched).toEqual([]);
  });
});
