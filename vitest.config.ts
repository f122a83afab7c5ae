import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // openssl and Authlib (for /usr/bin/python3) are checked once: a missing one fails the run at once.
    globalSetup: ['test/support/prerequisites.ts'],
    // Real servers (oidc-provider, the AWS endpoint, dynalite) start per file on 127.0.0.1.
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Any unhandled rejection fails the run: errors must be typed and caught.
    dangerouslyIgnoreUnhandledErrors: false,
    // In-process handlers log JSON and emit EMF; tests that check logs capture them explicitly. The AWS
    // SDK's notice that it will drop Node 20 in 2027 is known (README, package.json engines) and would
    // otherwise print once per test worker on Node 20.
    env: {
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
