import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';

/**
 * CloudWatch metrics in Embedded Metric Format, flushed once per invocation by the `logMetrics` middleware.
 * Off outside Lambda unless POWERTOOLS_METRICS_DISABLED says otherwise (npm start sets it, so the terminal
 * shows logs, not EMF blobs).
 */
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'JwtBearerGateway',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'jwt-bearer-gateway',
  defaultDimensions: stageDimension(),
});

/**
 * The stage (serverless.yml sets GATEWAY_STAGE on every function) as a dimension of every metric, beside
 * service: two stages in one account and Region otherwise add up in one series, and each stage's alarms
 * (infra/alarms.yml) would fire on the other's failures.
 */
export function stageDimension(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return env.GATEWAY_STAGE ? { stage: env.GATEWAY_STAGE } : {};
}

/** What the use case reports; a port, so tests and other runtimes can count without EMF. */
export interface GatewayMetrics {
  /**
   * The request is for this configured target: the invocation's metrics also count under a `target`
   * dimension. Called only once the target is known to be configured (never with caller input that may
   * name anything), so the dimension has as many values as the configuration has targets.
   */
  target(name: string): void;
  request(outcome: string): void;
  authorizationServerLatency(ms: number): void;
  signingLatency(ms: number): void;
  cacheResult(result: string): void;
  /** A shared cache operation failed and the request went on without it. */
  cacheDegraded(operation: string): void;
  /**
   * Admission (lib/admission) on a lane (`as:<target>`, `kms:<key>`): a request `admitted`, `waited` for its
   * turn, was `refused` (503 with Retry-After), or a back-off window opened (`backoff`).
   */
  admission(lane: string, outcome: string): void;
  /** The authorization server answered 429 (infra/alarms.yml alarms when it lasts). */
  authorizationServerThrottled(): void;
  /** A proxied call ended: `success` (whatever the API answered) or the API error code. */
  call(outcome: string): void;
  /** The proxied API refused the token with 401: it was replaced and the call sent once more. */
  callRetried(): void;
  /**
   * The proxied API refused the token with 401, and it was kept (younger than the target's
   * `proxy.reissueAfterSeconds`, or its replacement failed): the 401 was passed on.
   */
  callTokenKept(): void;
  /** How long the proxied API took to answer (per attempt). */
  apiLatency(ms: number): void;
}

/** The API error codes that mean the authorization server failed (infra/alarms.yml alarms on their sum). */
const UPSTREAM_ERRORS: ReadonlySet<string> = new Set([
  'upstream_unavailable',
  'upstream_timeout',
  'upstream_misconfigured',
]);

/**
 * The outcome is part of the metric name (`TokenError.access_denied`, `Cache.hit`) rather than a
 * dimension: a per-metric dimension needs `singleMetric()`, which builds a whole Metrics instance (and a
 * Console) per call, on the hot path of every cache hit. The target is a second dimension set
 * (`addDimensions`): every metric is then published both for the service and per target, so alarms on the
 * whole service and per target read the same blob.
 */
export function powertoolsMetricsFor(emf: Metrics): GatewayMetrics {
  return {
    target(name) {
      // With any dimension set added, Powertools publishes only the sets: add the service's own (the
      // default dimensions alone) back, then the per-target one.
      emf.addDimensions({});
      emf.addDimensions({ target: name });
    },
    request(outcome) {
      emf.addMetric('TokenRequests', MetricUnit.Count, 1);
      if (outcome === 'success') return;
      emf.addMetric(`TokenError.${outcome}`, MetricUnit.Count, 1);
      if (UPSTREAM_ERRORS.has(outcome)) emf.addMetric('UpstreamErrors', MetricUnit.Count, 1);
    },
    authorizationServerLatency(ms) {
      emf.addMetric('AuthorizationServerLatency', MetricUnit.Milliseconds, ms);
    },
    signingLatency(ms) {
      emf.addMetric('SigningLatency', MetricUnit.Milliseconds, ms);
    },
    cacheResult(result) {
      emf.addMetric(`Cache.${result}`, MetricUnit.Count, 1);
    },
    cacheDegraded(operation) {
      emf.addMetric('CacheDegraded', MetricUnit.Count, 1);
      void operation; // the log line names it; a metric per DynamoDB operation would be noise
    },
    admission(lane, outcome) {
      if (outcome === 'admitted') return; // TokenRequests and Cache.* already count those
      const kind = lane.startsWith('kms:') ? 'SignAdmission' : 'Admission';
      emf.addMetric(`${kind}.${outcome}`, MetricUnit.Count, 1);
    },
    authorizationServerThrottled() {
      emf.addMetric('AuthorizationServerThrottled', MetricUnit.Count, 1);
    },
    call(outcome) {
      emf.addMetric('CallRequests', MetricUnit.Count, 1);
      if (outcome !== 'success') emf.addMetric(`CallError.${outcome}`, MetricUnit.Count, 1);
    },
    callRetried() {
      emf.addMetric('CallTokenRetries', MetricUnit.Count, 1);
    },
    callTokenKept() {
      emf.addMetric('CallTokenKept', MetricUnit.Count, 1);
    },
    apiLatency(ms) {
      emf.addMetric('ApiLatency', MetricUnit.Milliseconds, ms);
    },
  };
}

/** The process-wide metrics port, publishing through `metrics`. */
export const powertoolsMetrics: GatewayMetrics = powertoolsMetricsFor(metrics);

/**
 * Flushes the invocation's metrics after the handler (like Powertools' `logMetrics`), but only when there
 * are some: `logMetrics` warns "No application metrics to publish" on every invocation that recorded none
 * (a refused DELETE, a malformed body), which is noise in CloudWatch and in test output. The dimension sets
 * are dropped either way, so one invocation's target never leaks into the next.
 */
export function flushMetrics(emf: Metrics = metrics): MiddlewareObj {
  const flush = () => {
    if (emf.hasStoredMetrics()) emf.publishStoredMetrics();
    else emf.clearDimensions();
  };
  return { after: flush, onError: flush };
}
