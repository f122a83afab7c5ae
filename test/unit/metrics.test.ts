import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { flushMetrics, powertoolsMetricsFor, stageDimension } from '#lib/observability/metrics.ts';

/** The EMF blob as CloudWatch would receive it: dimension sets and values per metric. */
function emf(metrics: Metrics) {
  const blob = metrics.serializeMetrics() as unknown as {
    _aws: { CloudWatchMetrics: Array<{ Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
    [key: string]: unknown;
  };
  const [directive] = blob._aws.CloudWatchMetrics;
  return { blob, dimensions: directive!.Dimensions, names: directive!.Metrics.map((m) => m.Name).sort() };
}

const newMetrics = () => new Metrics({ namespace: 'JwtBearerGateway', serviceName: 'jwt-bearer-gateway' });

describe('powertoolsMetrics', () => {
  describe('stage', () => {
    it('publishes every metric, per service and per target, under the stage serverless.yml sets', () => {
      // Prepare
      const metrics = new Metrics({
        namespace: 'JwtBearerGateway',
        serviceName: 'jwt-bearer-gateway',
        defaultDimensions: stageDimension({ GATEWAY_STAGE: 'prod' }),
      });
      const port = powertoolsMetricsFor(metrics);

      // Act
      port.target('okta');
      port.call('api_timeout');

      // Assess
      const { blob, dimensions, names } = emf(metrics);
      expect(dimensions).toEqual([
        ['service', 'stage'],
        ['service', 'stage', 'target'],
      ]);
      expect(blob.stage).toBe('prod');
      expect(names).toEqual(['CallError.api_timeout', 'CallRequests']);
    });

    it('adds no stage outside a deployment', () => {
      expect(stageDimension({})).toEqual({});
    });
  });

  describe('target', () => {
    it('publishes every metric of the invocation both for the service and per target', () => {
      // Prepare
      const metrics = newMetrics();
      const port = powertoolsMetricsFor(metrics);

      // Act
      port.target('okta');
      port.request('upstream_timeout');
      port.authorizationServerLatency(120);

      // Assess
      const { blob, dimensions, names } = emf(metrics);
      expect(dimensions).toEqual([['service'], ['service', 'target']]);
      expect(blob.service).toBe('jwt-bearer-gateway');
      expect(blob.target).toBe('okta');
      expect(names).toEqual([
        'AuthorizationServerLatency',
        'TokenError.upstream_timeout',
        'TokenRequests',
        'UpstreamErrors',
      ]);
    });

    it('has no target dimension when the request never named a configured target', () => {
      // Prepare
      const metrics = newMetrics();
      const port = powertoolsMetricsFor(metrics);

      // Act
      port.request('unauthorized_caller');

      // Assess
      const { dimensions, names } = emf(metrics);
      expect(dimensions).toEqual([['service']]);
      expect(names).toEqual(['TokenError.unauthorized_caller', 'TokenRequests']);
    });
  });

  describe('request', () => {
    it.each([
      ['upstream_unavailable', true],
      ['upstream_misconfigured', true],
      ['signing_unavailable', false],
      ['access_denied', false],
    ])('counts %s as an upstream error: %s', (code, upstream) => {
      // Prepare
      const metrics = newMetrics();

      // Act
      powertoolsMetricsFor(metrics).request(code);

      // Assess
      expect(emf(metrics).names.includes('UpstreamErrors')).toBe(upstream);
    });
  });
});

describe('flushMetrics', () => {
  it('drops the target of an invocation that recorded no metric, so the next one starts clean', async () => {
    // Prepare
    const metrics = newMetrics();
    const port = powertoolsMetricsFor(metrics);
    const middleware = flushMetrics(metrics);
    port.target('okta');

    // Act
    await middleware.after?.({} as never);
    port.request('unauthorized_caller');

    // Assess
    expect(emf(metrics).dimensions).toEqual([['service']]);
  });
});
