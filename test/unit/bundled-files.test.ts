import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile } from '#lib/config/load-config.ts';
import { bundledFiles } from '../../scripts/build.ts';

const config = (certificateFile: string) => `
environment: production
signingKeys:
  blue: { type: kms, keyId: alias/k, certificateFile: ${JSON.stringify(certificateFile)} }
targets:
  t: { tokenEndpoint: https://as.example/token, clientId: c, clientAuthentication: { method: none } }
`;

describe('certificateFile', () => {
  describe('loadConfigFile', () => {
    it('resolves a relative certificateFile against the configuration file, where the build bundles it', async () => {
      // Prepare
      const dir = await mkdtemp(join(tmpdir(), 'bundled-'));
      await mkdir(join(dir, 'deploy'));
      const path = join(dir, 'deploy', 'gateway.yaml');
      await writeFile(path, config('certificates/blue.pem'));

      // Act
      const { config: loaded } = await loadConfigFile(path, {});

      // Assess
      expect(loaded.signingKeys.blue?.certificateFile).toBe(join(dir, 'deploy', 'certificates', 'blue.pem'));
    });
  });

  describe('bundledFiles (npm run build)', () => {
    it('bundles relative certificate files and refuses ones outside the configuration’s directory', async () => {
      // Prepare
      const dir = await mkdtemp(join(tmpdir(), 'bundled-'));
      const inside = join(dir, 'inside.yaml');
      const outside = join(dir, 'outside.yaml');
      const absolute = join(dir, 'absolute.yaml');
      await writeFile(inside, config('certificates/./blue.pem'));
      await writeFile(outside, config('../blue.pem'));
      await writeFile(absolute, config('/etc/ssl/blue.pem'));

      // Act
      const files = await bundledFiles(inside);
      const refusals = await Promise.all(
        [outside, absolute].map((path) => bundledFiles(path).catch((error: unknown) => error)),
      );

      // Assess
      expect(files).toEqual(['certificates/blue.pem']);
      for (const refusal of refusals) {
        expect(refusal).toBeInstanceOf(ConfigError);
        expect((refusal as ConfigError).issues).toEqual([
          {
            path: 'signingKeys.blue.certificateFile',
            message: "must be a path inside the configuration file's directory, so the build can bundle it",
          },
        ]);
      }
    });
  });
});
