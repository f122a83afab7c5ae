// THIRD-PARTY-NOTICES.txt for a bundle: every npm package esbuild put into it, with its version, declared
// licence and licence text. The bundles are minified with legalComments: 'none' (most packages keep their
// licence in a LICENSE file, not in comments, so comments alone would not be a notice), so this file is what
// carries the MIT/Apache-2.0/ISC/BSD notices those licences require, inside each function's zip.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface BundledPackage {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  /** The package's LICENSE (or LICENCE, COPYING, NOTICE) files, concatenated; empty if it ships none. */
  readonly text: string;
}

/** The packages among esbuild metafile inputs (`node_modules/<name>/...`, scoped names too), once each. */
function packageDirectories(inputs: readonly string[], root: string): string[] {
  const dirs = new Set<string>();
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match?.[1]) dirs.add(join(root, match[1]));
  }
  return [...dirs].sort();
}

async function describePackage(dir: string): Promise<BundledPackage> {
  const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license?: string | { type?: string };
  };
  const license =
    typeof manifest.license === 'object' ? (manifest.license.type ?? '') : (manifest.license ?? '');
  const files = (await readdir(dir))
    .filter((file) => /^(licen[cs]e|copying|notice)(\.|$)/i.test(file))
    .sort();
  const texts = await Promise.all(files.map((file) => readFile(join(dir, file), 'utf8')));
  return { name: manifest.name, version: manifest.version, license, text: texts.join('\n').trim() };
}

/** The notices text for the packages in a bundle. */
export async function thirdPartyNotices(
  inputs: readonly string[],
  root: string,
): Promise<{ text: string; packages: BundledPackage[] }> {
  const packages = await Promise.all(packageDirectories(inputs, root).map(describePackage));
  // Nested copies of one package at one version are one notice.
  const unique = [...new Map(packages.map((p) => [`${p.name}@${p.version}`, p])).values()].sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  const sections = unique.map(
    (p) =>
      `${'='.repeat(78)}\n${p.name} ${p.version} (${p.license || 'no licence declared'})\n${'='.repeat(78)}\n\n${p.text || `No licence file in the package; its package.json declares: ${p.license || 'nothing'}.`}\n`,
  );
  const header =
    'This bundle contains the following third-party software, each under its own licence.\n' +
    'jwt-bearer-gateway itself is licensed under Apache-2.0.\n\n';
  return { text: header + sections.join('\n'), packages: unique };
}
