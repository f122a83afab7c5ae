// The gateway side of npm run bench:storm, in a child process per variant: two gateway instances of the
// tree at `root` (this one, or the baseline's copy) sharing one table, driven through the handlers Lambda
// runs by simulated users whose clients honour Retry-After. Prints one JSON line: its StormReport.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { httpApiEvent, lambdaContext } from '#test/support/api-gateway-events.ts';
import { STORM_CLIENT, STORM_ISSUER } from './storm-as.ts';

interface Settings {
  readonly root: string;
  readonly baseline: boolean;
  readonly tokenEndpoint: string;
  readonly kms: string;
  readonly keyId: string;
  readonly dynamodb: string;
  readonly tableName: string;
  readonly users: number;
  readonly arrivals: number;
  readonly rate: number;
  readonly dir: string;
}

interface Summary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface StormReport {
  readonly users: number;
  readonly served: number;
  readonly gaveUp: number;
  readonly statuses: Record<string, number>;
  readonly first: Summary;
  readonly refusals: Summary;
  readonly refusalsWithRetryAfter: number;
  /** Refusals that took over 100 ms: when each was asked (s from the storm's start) and how long it took. */
  readonly slowRefusals: SlowRefusal[];
  readonly hits: Summary;
  /** Cache hits of two probe users (one per route), every 50 ms: before the storm, and during it. */
  readonly hitsQuiet: Summary;
  readonly hitsStorm: Summary;
  readonly healthQuiet: Summary;
  readonly healthStorm: Summary;
  readonly tries: Summary;
  readonly allServedMs: number;
}

/** A refusal over 100 ms: when it was asked, how long it took, why, and where the time went. */
export interface SlowRefusal {
  readonly atS: number;
  readonly ms: number;
  /** The admission's reason (`as: in back-off`, `kms: no turn free`...), or the error code without one. */
  readonly reason: string;
  /** Time inside Admission.enter (its table calls and any wait for a turn). */
  readonly admissionMs: number;
  /** Time in DynamoDB calls, per call (`UpdateItem lane`, `GetItem cache`...): total ms and count. */
  readonly dynamodb: Record<string, { ms: number; count: number }>;
}

/** What one gateway call did, gathered through its async context. */
interface Trace {
  reason?: string;
  admissionMs: number;
  dynamodb: Record<string, { ms: number; count: number }>;
}

type Handler = (
  event: unknown,
  context: unknown,
) => Promise<{ statusCode: number; body?: string; headers?: Record<string, string> }>;

const DN = 'CN=CICSPROD,OU=Mainframe,O=Bank,C=GB';
const MAX_TRIES = 5;
const REPEATS = 3;
/** API Gateway's integration timeout, less what it takes to reach the function. */
const REMAINING_MS = 29_000;

const settings = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as Settings;
const lib = (path: string) => import(join(settings.root, 'lib', path));
const { parseConfig } = await lib('config/load-config.ts');
const { createGateway } = await lib('composition.ts');
const { tokenHandler, healthHandler } = await lib('http/handlers.ts');
const { oauthTokenHandler, OAUTH_TOKEN_ROUTE } = await lib('http/oauth-token-handler.ts');

// Each call runs in its own async context: the DynamoDB client's sends and the admission's refusals are
// attributed to it, so a slow refusal says which path it took (Node resolves the symlinked node_modules of
// the baseline's copy to these same modules). Costs a clock read per call, nothing on the wire.
const traces = new AsyncLocalStorage<Trace>();
const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
const send = DynamoDBClient.prototype.send as (this: unknown, ...args: unknown[]) => Promise<unknown>;
DynamoDBClient.prototype.send = async function (this: unknown, ...args: unknown[]) {
  const trace = traces.getStore();
  if (!trace) return send.apply(this, args);
  const command = args[0] as { constructor: { name: string }; input?: Record<string, unknown> };
  const input = command.input ?? {};
  const key = (input.Key ?? input.Item) as Record<string, { S?: string }> | undefined;
  const pk = key ? (Object.values(key)[0]?.S ?? '') : '';
  const item = pk.startsWith('admission#')
    ? pk.includes('#slot#')
      ? 'slot'
      : pk.includes('#turn#')
        ? 'turn'
        : 'lane'
    : pk.startsWith('lease#')
      ? 'lease'
      : 'cache';
  const name = `${command.constructor.name.replace(/Command$/, '')} ${item}`;
  const started = performance.now();
  try {
    return await send.apply(this, args);
  } finally {
    const entry = trace.dynamodb[name] ?? { ms: 0, count: 0 };
    trace.dynamodb[name] = { ms: entry.ms + performance.now() - started, count: entry.count + 1 };
  }
} as typeof DynamoDBClient.prototype.send;
if (!settings.baseline) {
  type Enter = (lane: string, limits: unknown, options: Record<string, unknown>) => Promise<unknown>;
  const { Admission } = (await lib('admission/admission.ts')) as {
    Admission: { prototype: { enter: Enter } };
  };
  const enter = Admission.prototype.enter;
  Admission.prototype.enter = async function (this: unknown, lane, limits, options) {
    const trace = traces.getStore();
    if (!trace) return enter.call(this, lane, limits, options);
    const refuse = options.refuse as (seconds: number, why: string) => Error;
    const started = performance.now();
    try {
      return await enter.call(this, lane, limits, {
        ...options,
        refuse: (seconds: number, why: string) => {
          trace.reason = `${lane.split(':')[0]}: ${why}`;
          return refuse(seconds, why);
        },
      });
    } finally {
      trace.admissionMs += performance.now() - started;
    }
  };
}

const keyFile = join(settings.dir, 'cache.key');
await writeFile(keyFile, randomBytes(32).toString('base64'));
const { config } = parseConfig(
  {
    signingKeys: {
      kms: { type: 'kms', keyId: settings.keyId, ...(settings.baseline ? {} : { signsPerSecond: 40 }) },
    },
    targets: {
      demo: {
        tokenEndpoint: settings.tokenEndpoint,
        clientId: STORM_CLIENT.id,
        clientAuthentication: { method: 'client_secret_basic', secret: { env: 'STORM_SECRET' } },
        assertion: { issuer: STORM_ISSUER },
        scope: 'a',
        ...(settings.baseline ? {} : { admission: { requestsPerSecond: settings.rate, maxConcurrent: 20 } }),
      },
    },
    callers: { cics: { mtlsSubjects: [DN], targets: { demo: {} } } },
    cache: { dynamodb: { tableName: settings.tableName, encryption: { localKeyFile: keyFile } } },
    ...(settings.baseline ? {} : { admission: { fallbackInstances: 2 } }),
  },
  'storm',
);
// The SDK's standard settings point each instance's own clients (built with the gateway's timeouts and
// retries) at the emulators.
Object.assign(process.env, {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_ENDPOINT_URL_KMS: settings.kms,
  AWS_ENDPOINT_URL_DYNAMODB: settings.dynamodb,
});
const instances = [0, 1].map(() => {
  const gateway = createGateway(config, { env: { STORM_SECRET: STORM_CLIENT.secret } });
  // As the Lambda init does: the AWS adapters are loaded before the first request.
  const ready = gateway.checkAws();
  const provider = async () => {
    await ready;
    return gateway;
  };
  return { ready, token: tokenHandler(provider) as Handler, facade: oauthTokenHandler(provider) as Handler };
});
const health = healthHandler() as Handler;
await Promise.all(instances.map((instance) => instance.ready));

const context = () => ({ ...lambdaContext(), getRemainingTimeInMillis: () => REMAINING_MS });
const tokenEvent = (subject: string) =>
  httpApiEvent({ path: '/v1/token', body: { target: 'demo', subject }, clientCert: { subjectDN: DN } });
const facadeEvent = (subject: string) => ({
  ...httpApiEvent({
    path: '/oauth2/demo/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=password&username=${subject}&password=unused`,
    clientCert: { subjectDN: DN },
  }),
  routeKey: OAUTH_TOKEN_ROUTE,
  pathParameters: { target: 'demo' },
});

const statuses: Record<string, number> = {};
const first: number[] = [];
const refusals: number[] = [];
const slowRefusals: SlowRefusal[] = [];
let refusalsWithRetryAfter = 0;
const hits: number[] = [];
const tries: number[] = [];
let served = 0;
let lastServedAt = 0;

/** One call through a random instance (as Lambda routes): its status, error code, Retry-After, time. */
async function call(facade: boolean, subject: string, counted = true) {
  const instance = instances[Math.random() < 0.5 ? 0 : 1]!;
  const trace: Trace = { admissionMs: 0, dynamodb: {} };
  const started = performance.now();
  const answer = await traces.run(trace, () =>
    facade
      ? instance.facade(facadeEvent(subject), context())
      : instance.token(tokenEvent(subject), context()),
  );
  const ms = performance.now() - started;
  let code = '';
  if (answer.statusCode !== 200) code = String((JSON.parse(answer.body ?? '{}') as { error?: string }).error);
  const key = `${answer.statusCode}${code ? ` ${code}` : ''}`;
  if (counted) statuses[key] = (statuses[key] ?? 0) + 1;
  const retryAfter = answer.headers?.['retry-after'] ?? answer.headers?.['Retry-After'];
  return {
    started,
    status: answer.statusCode,
    retryAfter: retryAfter === undefined ? undefined : Number(retryAfter),
    ms,
    code,
    trace,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function user(index: number, stormStarted: number): Promise<void> {
  const subject = `U${String(index).padStart(5, '0')}`;
  const facade = index % 2 === 1;
  for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
    const answer = await call(facade, subject);
    if (answer.status === 200) {
      first.push(answer.ms);
      tries.push(attempt);
      served++;
      lastServedAt = performance.now() - stormStarted;
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        await sleep(1000);
        hits.push((await call(facade, subject)).ms);
      }
      return;
    }
    if (answer.status >= 500) {
      refusals.push(answer.ms);
      if (answer.ms > 100) {
        const { trace } = answer;
        slowRefusals.push({
          atS: Math.round((answer.started - stormStarted) / 100) / 10,
          ms: Math.round(answer.ms),
          reason: trace.reason ?? `${answer.code} (no admission refusal: the server answered so, or a fault)`,
          admissionMs: Math.round(trace.admissionMs),
          dynamodb: trace.dynamodb,
        });
      }
      if (answer.retryAfter !== undefined) refusalsWithRetryAfter++;
    }
    if (answer.status < 500) return; // a refusal of the user: not retried
    await sleep((answer.retryAfter ?? 1) * 1000);
  }
}

/** How long a probe may take in the quiet phase and in the storm: both sampled alike, every 50 ms. */
const PROBE_MS = 50;
const QUIET_MS = 5_000;
/** Users served before the storm, whose cache hits are probed (one per route). */
const PROBE_USERS = [
  { facade: false, subject: 'PROBE0' },
  { facade: true, subject: 'PROBE1' },
];

/**
 * Every 50 ms while `until` is pending: how late `/health` answers against its schedule, and how long a
 * cache hit of a probe user takes. The same in the quiet phase and in the storm, so the two compare.
 */
async function probe(until: Promise<unknown>): Promise<{ health: number[]; hits: number[] }> {
  const late: number[] = [];
  const hitMs: number[] = [];
  let done = false;
  void until.then(() => {
    done = true;
  });
  for (let tick = 0; !done; tick++) {
    const scheduled = performance.now();
    await sleep(PROBE_MS);
    const due = scheduled + PROBE_MS;
    await health(httpApiEvent({ method: 'GET', path: '/health' }), context());
    late.push(performance.now() - due);
    const { facade, subject } = PROBE_USERS[tick % PROBE_USERS.length]!;
    const answer = await call(facade, subject, false);
    if (answer.status === 200) hitMs.push(answer.ms);
  }
  return { health: late, hits: hitMs };
}

function summary(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { count: values.length, p50: at(0.5), p99: at(0.99), max: Math.round(sorted.at(-1) ?? 0) };
}

for (const { facade, subject } of PROBE_USERS) {
  const answer = await call(facade, subject, false);
  if (answer.status !== 200) throw new Error(`probe user ${subject} got ${answer.status}`);
}
// A second of probing first, not counted: the code is compiled by then, as it is in the storm.
await probe(sleep(1000));
const quiet = await probe(sleep(QUIET_MS));
// The parent starts counting the server's requests and KMS Sign calls here: the probe users' exchanges
// are no part of the storm.
process.stdout.write(`${JSON.stringify({ phase: 'storm' })}\n`);
await sleep(200);
const stormStarted = performance.now();
const users: Array<Promise<void>> = [];
const storm = (async () => {
  for (let i = 0; i < settings.users; i++) {
    users.push(user(i, stormStarted));
    await sleep(1000 / settings.arrivals);
  }
  await Promise.all(users);
})();
const inStorm = await probe(storm);
await storm;

const report: StormReport = {
  users: settings.users,
  served,
  gaveUp: settings.users - served,
  statuses,
  first: summary(first),
  refusals: summary(refusals),
  refusalsWithRetryAfter,
  slowRefusals,
  hits: summary(hits),
  hitsQuiet: summary(quiet.hits),
  hitsStorm: summary(inStorm.hits),
  healthQuiet: summary(quiet.health),
  healthStorm: summary(inStorm.health),
  tries: summary(tries),
  allServedMs: Math.round(lastServedAt),
};
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
