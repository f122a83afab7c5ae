import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * CloudWatch metrics in Embedded Metric Format. Off outside Lambda unless POWERTOOLS_METRICS_DISABLED
 * says otherwise (npm start sets it, so the terminal shows logs, not EMF blobs).
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
}

export const powertoolsMetrics: GatewayMetrics = {
  request(outcome) {
    metrics.addMetric('TokenRequests', MetricUnit.Count, 1);
    if (outcome !== 'success') {
      const single = metrics.singleMetric();
      single.addDimension('error', outcome);
      single.addMetric('TokenErrors', MetricUnit.Count, 1);
    }
  },
  authorizationServerLatency(ms) {
    metrics.addMetric('AuthorizationServerLatency', MetricUnit.Milliseconds, ms);
  },
  signingLatency(ms) {
    metrics.addMetric('SigningLatency', MetricUnit.Milliseconds, ms);
  },
  cacheResult(result) {
    const single = metrics.singleMetric();
    single.addDimension('result', result);
    single.addMetric('CacheResults', MetricUnit.Count, 1);
  },
  cacheDegraded(operation) {
    const single = metrics.singleMetric();
    single.addDimension('operation', operation);
    single.addMetric('CacheDegraded', MetricUnit.Count, 1);
  },
};
