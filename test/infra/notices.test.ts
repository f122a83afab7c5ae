// The licences of what each Lambda bundle contains: THIRD-PARTY-NOTICES.txt, written by npm run build
// beside each bundle (so it is in the function's zip), from the packages esbuild actually bundled.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction } from '../../scripts/build.ts';
import { type BundledPackage, thirdPartyNotices } from '../../scripts/third-party-notices.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let dir: string;
let notices: { text: string; packages: BundledPackage[] };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'notices-'));
  const bundle = await bundleFunction('jwks', join(dir, 'jwks'));
  notices = await thirdPartyNotices(bundle.inputs, ROOT);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('THIRD-PARTY-NOTICES.txt', () => {
  it('names every bundled package once, with its version and declared licence', () => {
    // Assess
    const names = notices.packages.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['jose', '@aws-sdk/client-kms', '@middy/core']));
    expect(new Set(names.map((name, i) => `${name}@${notices.packages[i]!.version}`)).size).toBe(
      names.length,
    );
    expect(names).not.toContain('oidc-provider');
    expect(notices.packages.find((p) => p.name === 'jose')?.license).toBe('MIT');
    expect(notices.packages.find((p) => p.name === '@aws-sdk/client-kms')?.license).toBe('Apache-2.0');
  });

  it('carries each package’s licence text, as MIT and Apache-2.0 require', () => {
    // Assess
    expect(notices.packages.find((p) => p.name === 'jose')?.text).toContain('Permission is hereby granted');
    expect(notices.packages.find((p) => p.name === '@aws-sdk/client-kms')?.text).toContain('Apache License');
    expect(notices.text).toContain('jwt-bearer-gateway itself is licensed under Apache-2.0');
  });
});
