// npm start: the gateway on this machine. With no configuration it runs on embedded defaults (local key,
// in-memory everything, a demo authorization server); with --config or GATEWAY_CONFIG it serves your targets.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

// Before the gateway's modules load: EMF metrics are for CloudWatch, not a terminal.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const { createGateway } = await import('../composition.ts');
const { loadConfigFile, parseConfig } = await import('../config/load-config.ts');
const { describeError, logger } = await import('../observability/logger.ts');
const { VERSION } = await import('../version.ts');
const { createLambdaHttpServer, gatewayRoutes } = await import('./lambda-http-server.ts');
const { recordRunningDefaults, startEmbeddedDefaults } = await import('./embedded-defaults.ts');

const USAGE = `Usage: npm start [-- --config FILE] [--port N] [--host ADDR]

  --config FILE  gateway configuration (YAML or JSON); default: $GATEWAY_CONFIG, else embedded defaults
  --port N       listen port; default: $PORT, else 8080
  --host ADDR    listen address; default 127.0.0.1

Embedded defaults: DEMO_API_KEY fixes the demo caller's API key, DEMO_CLIENT_SECRET the demo client's,
DEMO_AS_PORT and DEMO_API_PORT the ports of the demo authorization server and the demo API (random
otherwise).
They write .state/signing-key.json, the generated local signing key (reused at the next start; delete
.state/ for a new key), and while running .state/embedded-defaults.json and .state/npm-start.pid, so that
npm run gw -- test-target demo --subject CICSUSR1 and npm run gw -- jwks in another terminal use this
gateway (removed at stop). Your own configuration writes only the files it names (generate: true).

AWS (KMS keys, Secrets Manager, DynamoDB in your configuration), as for the AWS CLI and SDK:
  AWS_REGION                            the region (or AWS_DEFAULT_REGION, or the profile's region)
  AWS_PROFILE                           a profile from ~/.aws/config and ~/.aws/credentials, or
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN   credentials directly
  AWS_ENDPOINT_URL                      one endpoint for every service (LocalStack, a VPC endpoint), or per
  AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_DYNAMODB   service
Nothing AWS is needed with embedded defaults.`;

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const host = values.host ?? '127.0.0.1';
const port = Number(values.port ?? process.env.PORT ?? 8080);
if (!isPort(port)) {
  console.error(`invalid port: ${values.port ?? process.env.PORT}\n\n${USAGE}`);
  process.exit(2);
}
const demoPorts = { as: demoPort('DEMO_AS_PORT'), api: demoPort('DEMO_API_PORT') };

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 65_535;
}

/** A demo server's port from the environment; unset or empty: random (0). Exits 2 on anything else. */
function demoPort(name: 'DEMO_AS_PORT' | 'DEMO_API_PORT'): number {
  const text = process.env[name]?.trim();
  if (!text) return 0;
  const value = Number(text);
  if (/^\d+$/.test(text) && isPort(value)) return value;
  console.error(`invalid ${name}: ${text} (a port number, 0-65535)\n\n${USAGE}`);
  process.exit(2);
}
const configPath = values.config ?? process.env.GATEWAY_CONFIG;

type Gateway = ReturnType<typeof createGateway>;

/**
 * Listens before the gateway exists, so that port 0 works: the embedded demo AS must be told the gateway's
 * real JWKS URL. Exits when the port cannot be had; returns the origin to print.
 */
function listen(server: ReturnType<typeof createLambdaHttpServer>): Promise<string> {
  server.on('error', (error) => {
    console.error(`cannot listen on ${host}:${port}: ${error.message}`);
    process.exit(1);
  });
  return new Promise((resolvePromise) => {
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      resolvePromise(`http://${host.includes(':') ? `[${host}]` : host}:${bound}`);
    });
  });
}

try {
  let gateway: Gateway;
  const stops: Array<() => Promise<void>> = [];
  // Requests that arrive while the gateway is still being set up wait for it.
  let ready: (gateway: Gateway) => void = () => undefined;
  const gatewayReady = new Promise<Gateway>((resolvePromise) => {
    ready = resolvePromise;
  });
  const server = createLambdaHttpServer(gatewayRoutes(() => gatewayReady));
  let banner: string[];
  if (configPath) {
    const { config, warnings } = await loadConfigFile(resolve(configPath));
    for (const warning of warnings) logger.warn(warning);
    gateway = createGateway(config);
    // Before "listening": a config that needs AWS fails here, in one line, without a region or credentials.
    await gateway.checkAws();
    const origin = await listen(server);
    banner = [`jwt-bearer-gateway ${VERSION} listening on ${origin} (config ${configPath})`];
  } else {
    const origin = await listen(server);
    const defaults = await startEmbeddedDefaults({
      stateDirectory: resolve('.state'),
      jwksUrl: `${origin}/.well-known/jwks.json`,
      apiKey: process.env.DEMO_API_KEY,
      clientSecret: process.env.DEMO_CLIENT_SECRET,
      authorizationServerPort: demoPorts.as,
      apiPort: demoPorts.api,
    });
    stops.push(() => defaults.close());
    gateway = createGateway(parseConfig(defaults.config, 'embedded defaults').config, {
      env: { ...process.env, ...defaults.env },
    });
    // For `npm run gw -- test-target demo` and `gw jwks` in another terminal (cli/deploy-config.ts).
    stops.push(await recordRunningDefaults(resolve('.state'), defaults));
    banner = [
      `jwt-bearer-gateway ${VERSION} listening on ${origin} (embedded defaults: not for production)`,
      `demo authorization server: ${defaults.authorizationServer.issuer}`,
      `demo API (behind the demo target): ${defaults.api.url}`,
      `demo API key: ${defaults.apiKey}`,
      '',
      'Get a token for the end user CICSUSR1:',
      `  curl -s -X POST ${origin}/v1/token -H 'content-type: application/json' \\`,
      `    -H 'x-api-key: ${defaults.apiKey}' -d '{"target":"demo","subject":"CICSUSR1"}'`,
      '',
      'The same as z/OS Connect asks for it (RFC 6749 password grant; the password is ignored):',
      `  curl -s -u 'demo:${defaults.apiKey}' -d grant_type=password -d username=CICSUSR1 \\`,
      `    -d password=unused ${origin}/oauth2/demo/token`,
      '',
      'Or call the demo API as CICSUSR1 in one request (proxy mode):',
      `  curl -H 'x-api-key: ${defaults.apiKey}' -H 'x-subject: CICSUSR1' ${origin}/v1/call/demo/whoami`,
    ];
  }
  ready(gateway);
  console.log(banner.join('\n'));

  const shutdown = () => {
    server.close();
    server.closeAllConnections();
    Promise.all(stops.map((stop) => stop())).finally(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (error) {
  // A bad configuration is the likeliest failure here: say exactly what is wrong, without a stack.
  console.error((error as Error).message);
  logger.debug('start failed', describeError(error));
  process.exit(1);
}
