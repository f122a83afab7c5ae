import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * CloudWatch metrics in Embedded Metric Format, flushed once per invocation by the `logMetrics` middleware.
 * Off outside Lambda unless POWERTOOLS_METRICS_DISABLED says otherwise (npm start sets it, so the terminal
 * shows logs, not EMF blobs).
 */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'JwtBearerGateway',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'jwt-bearer-gateway',
});

/** What the use case reports; a port, so tests and other runtimes can count without EMF. */
export interface GatewayMetrics {
  request(outcome: string): void;
  authorizationServerLatency(ms: number): void;
  signingLatency(ms: number): void;
  cacheResult(result: string): void;
  /** A shared cache operation failed and the request went on without it. */
  cacheDegraded(operation: string): void;
  /** A proxied call ended: `success` (whatever the API answered) or the API error code. */
  call(outcome: string): void;
  /** The proxied API refused the token with 401: it was dropped and the call retried once. */
  callRetried(): void;
  /** How long the proxied API took to answer (per attempt). */
  apiLatency(ms: number): void;
}

/**
 * The outcome is part of the metric name (`TokenError.access_denied`, `Cache.hit`) rather than a
 * dimension: a per-metric dimension needs `singleMetric()`, which builds a whole Metrics instance (and a
 * Console) per call, on the hot path of every cache hit.
 */
export const powertoolsMetrics: GatewayMetrics = {
  request(outcome) {
    metrics.addMetric('TokenRequests', MetricUnit.Count, 1);
    if (outcome !== 'success') metrics.addMetric(`TokenError.${outcome}`, MetricUnit.Count, 1);
  },
  authorizationServerLatency(ms) {
    metrics.addMetric('AuthorizationServerLatency', MetricUnit.Milliseconds, ms);
  },
  signingLatency(ms) {
    metrics.addMetric('SigningLatency', MetricUnit.Milliseconds, ms);
  },
  cacheResult(result) {
    metrics.addMetric(`Cache.${result}`, MetricUnit.Count, 1);
  },
  cacheDegraded(operation) {
    metrics.addMetric('CacheDegraded', MetricUnit.Count, 1);
    void operation; // the log line names it; a metric per DynamoDB operation would be noise
  },
  call(outcome) {
    metrics.addMetric('CallRequests', MetricUnit.Count, 1);
    if (outcome !== 'success') metrics.addMetric(`CallError.${outcome}`, MetricUnit.Count, 1);
  },
  callRetried() {
    metrics.addMetric('CallTokenRetries', MetricUnit.Count, 1);
  },
  apiLatency(ms) {
    metrics.addMetric('ApiLatency', MetricUnit.Milliseconds, ms);
  },
};
