import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GatewayConfigInput } from '../config/schema.ts';
import { apiKeyHash } from '../policy/caller-policy.ts';
import { type DemoApi, startDemoApi } from './demo-api.ts';
import { type DemoAuthorizationServer, startDemoAuthorizationServer } from './demo-authorization-server.ts';

const DEMO_ASSERTION_ISSUER = 'jwt-bearer-gateway-demo';
const DEMO_CLIENT_ID = 'demo-gateway';
/** The demo caller's OAuth client id at POST /oauth2/demo/token; its secret is the demo API key. */
const DEMO_OAUTH_CLIENT_ID = 'demo';
/** The demo API's identifier: the `aud` of the JWT access tokens the demo AS issues for it. */
export const DEMO_API_AUDIENCE = 'urn:jwt-bearer-gateway:demo-api';
const DEMO_CLIENT_SECRET_VARIABLE = 'JBG_DEMO_CLIENT_SECRET';

export interface EmbeddedDefaults {
  readonly config: GatewayConfigInput;
  /** Environment the gateway resolves the demo client secret from (never a literal in the config). */
  readonly env: NodeJS.ProcessEnv;
  readonly apiKey: string;
  readonly authorizationServer: DemoAuthorizationServer;
  /** The API the `demo` target fronts at /v1/call/demo/…. */
  readonly api: DemoApi;
  /** Stops the demo API and the demo authorization server. */
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Where the local signing key lives; created on first start. */
  readonly stateDirectory: string;
  /** The gateway's own JWKS URL, which the demo AS trusts for assertions. */
  readonly jwksUrl: string;
  /** `DEMO_API_KEY` fixes the demo caller's key; otherwise a new one each start. */
  readonly apiKey?: string | undefined;
  /** `DEMO_CLIENT_SECRET` fixes the demo client's secret (a test proves it never reaches the output). */
  readonly clientSecret?: string | undefined;
  /** `DEMO_AS_PORT` pins the demo authorization server's port (an AS registration may name it); random by default. */
  readonly authorizationServerPort?: number | undefined;
  /** `DEMO_API_PORT` pins the demo API's port; random by default. */
  readonly apiPort?: number | undefined;
}

/**
 * Everything `npm start` needs with no configuration: a local signing key, a demo authorization server
 * (oidc-provider with the jwt-bearer grant) that trusts that key through the gateway's JWKS, a demo API
 * that accepts only that server's tokens, one target (proxying to the demo API) and one caller. Nothing here is fit for production, and nothing of it is used when a config is given.
 */
export async function startEmbeddedDefaults(options: EmbeddedOptions): Promise<EmbeddedDefaults> {
  const apiKey = options.apiKey || randomBytes(24).toString('base64url');
  const clientSecret = options.clientSecret || randomBytes(24).toString('base64url');
  const authorizationServer = await startDemoAuthorizationServer({
    port: options.authorizationServerPort ?? 0,
    clients: [
      {
        client_id: DEMO_CLIENT_ID,
        client_secret: clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
        scope: 'openid demo.read demo.write',
      },
    ],
    trustedIssuers: [
      { issuer: DEMO_ASSERTION_ISSUER, jwksUri: options.jwksUrl, clientIds: [DEMO_CLIENT_ID] },
    ],
    accessTokenTtlSeconds: 900,
    // JWT access tokens (RFC 9068) for the demo API, which verifies them against the AS's JWKS.
    jwtAccessTokens: { audience: DEMO_API_AUDIENCE },
  });
  let api: DemoApi;
  try {
    api = await startDemoApi({
      port: options.apiPort ?? 0,
      issuer: authorizationServer.issuer,
      jwksUri: authorizationServer.jwksUri,
      audience: DEMO_API_AUDIENCE,
    });
  } catch (error) {
    await authorizationServer.close();
    throw error;
  }
  const config: GatewayConfigInput = {
    environment: 'development',
    signingKeys: {
      local: { type: 'local', path: join(options.stateDirectory, 'signing-key.json'), generate: true },
    },
    targets: {
      demo: {
        issuer: authorizationServer.issuer,
        tokenEndpoint: authorizationServer.tokenEndpoint,
        clientId: DEMO_CLIENT_ID,
        clientAuthentication: { method: 'client_secret_basic', secret: { env: DEMO_CLIENT_SECRET_VARIABLE } },
        assertion: { issuer: DEMO_ASSERTION_ISSUER },
        scope: 'demo.read',
        proxy: { baseUrl: api.url, methods: ['GET', 'HEAD'], pathPrefixes: ['/whoami'] },
      },
    },
    // One process and no table: it admits each target's whole rate on its own.
    admission: { fallbackInstances: 1 },
    callers: {
      demo: {
        apiKeys: [{ sha256: apiKeyHash(apiKey) }],
        // The RFC 6749 facade: client id demo, client secret = the demo API key (what z/OS Connect sends).
        oauth: { clients: [{ clientId: DEMO_OAUTH_CLIENT_ID, secret: { sha256: apiKeyHash(apiKey) } }] },
        targets: { demo: { scopes: ['openid', 'demo.read', 'demo.write'] } },
      },
    },
  };
  return {
    config,
    env: { [DEMO_CLIENT_SECRET_VARIABLE]: clientSecret },
    apiKey,
    authorizationServer,
    api,
    close: async () => {
      await Promise.all([api.close(), authorizationServer.close()]);
    },
  };
}

/**
 * Where a running `npm start` on embedded defaults leaves its configuration (JSON, the demo client secret
 * as a literal: `environment: development` allows it, and the demo server dies with the process) and its
 * process id, so that `gw test-target demo` and `gw jwks` in another terminal work on the same gateway.
 */
const RUNNING_CONFIG_FILE = 'embedded-defaults.json';
const RUNNING_PID_FILE = 'npm-start.pid';

/** Writes the running defaults' configuration; returns what removes it again (at shutdown). */
export async function recordRunningDefaults(
  stateDirectory: string,
  defaults: Pick<EmbeddedDefaults, 'config' | 'env'>,
): Promise<() => Promise<void>> {
  const secret = defaults.env[DEMO_CLIENT_SECRET_VARIABLE] ?? '';
  const config = {
    ...defaults.config,
    targets: Object.fromEntries(
      Object.entries(defaults.config.targets ?? {}).map(([id, target]) => [
        id,
        { ...target, clientAuthentication: { method: 'client_secret_basic', secret: { value: secret } } },
      ]),
    ),
  };
  const configPath = join(stateDirectory, RUNNING_CONFIG_FILE);
  const pidPath = join(stateDirectory, RUNNING_PID_FILE);
  await mkdir(stateDirectory, { recursive: true });
  // Owner-only, like the signing key beside it.
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await writeFile(pidPath, `${process.pid}\n`, { mode: 0o600 });
  return async () => {
    await Promise.all([rm(configPath, { force: true }), rm(pidPath, { force: true })]);
  };
}

/** The configuration file of an `npm start` on embedded defaults still running here, if there is one. */
export async function runningDefaultsConfig(stateDirectory: string): Promise<string | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(join(stateDirectory, RUNNING_PID_FILE), 'utf8')).trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0); // signal 0 only asks whether the process exists
  } catch (error) {
    // EPERM: it exists, as another user's; ESRCH: npm start was killed without its shutdown.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return join(stateDirectory, RUNNING_CONFIG_FILE);
}
