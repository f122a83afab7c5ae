import { describe, expect, it } from 'vitest';
import { fromPayloadV1, isPayloadV1, toPayloadV1Result } from '#lib/http/payload-v1.ts';
import { httpApiEvent, restApiEvent } from '#test/support/api-gateway-events.ts';

describe('payload format 1.0 adapter', () => {
  describe('isPayloadV1', () => {
    it('tells a REST API event from an HTTP API one', () => {
      expect(isPayloadV1(restApiEvent({ resource: '/health', path: '/health', method: 'GET' }))).toBe(true);
      expect(isPayloadV1(httpApiEvent({ method: 'GET', path: '/health' }))).toBe(false);
      expect(isPayloadV1(null)).toBe(false);
      expect(isPayloadV1({ version: '2.0', httpMethod: 'GET' })).toBe(false);
    });
  });

  describe('fromPayloadV1', () => {
    it('lower-cases header names and joins repeated values with commas, as 2.0 does', () => {
      // Act
      const event = fromPayloadV1(
        restApiEvent({
          resource: '/v1/token',
          path: '/v1/token',
          headers: { 'X-Api-Key': 'k', Accept: ['application/json', 'text/plain'] },
        }),
      );

      // Assess
      expect(event.headers['x-api-key']).toBe('k');
      expect(event.headers.accept).toBe('application/json,text/plain');
      expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    });

    it('rebuilds the raw query string from the decoded parameters, every value encoded again', () => {
      // Act
      const event = fromPayloadV1(
        restApiEvent({ resource: '/v1/ready', path: '/v1/ready?a=1&a=x%20y&b=%26', method: 'GET' }),
      );

      // Assess
      expect(event.rawQueryString).toBe('a=1&a=x%20y&b=%26');
      expect(event.queryStringParameters).toEqual({ a: 'x y', b: '&' });
    });

    it('names the route as the HTTP API does: method and resource, ANY for ANY-method resources', () => {
      const proxied = restApiEvent({
        method: 'PATCH',
        resource: '/v1/call/{target}/{path+}',
        path: '/v1/call/demo/x',
        pathParameters: { target: 'demo', path: 'x' },
      });
      expect(fromPayloadV1(proxied).requestContext.routeKey).toBe('PATCH /v1/call/{target}/{path+}');
      const event = fromPayloadV1(proxied, { anyMethodResources: ['/v1/call/{target}/{path+}'] });
      expect(event.requestContext.routeKey).toBe('ANY /v1/call/{target}/{path+}');
      expect(event.routeKey).toBe('ANY /v1/call/{target}/{path+}');
      expect(event.requestContext.http.method).toBe('PATCH');
      expect(event.pathParameters).toEqual({ target: 'demo', path: 'x' });
    });

    it('moves the IAM principal and the client certificate to where 2.0 has them, and nothing else', () => {
      // Prepare
      const signed = restApiEvent({
        resource: '/v1/token',
        path: '/v1/token',
        userArn: 'arn:aws:sts::1:assumed-role/r/s',
      });
      const withCert = restApiEvent({ resource: '/v1/token', path: '/v1/token' });
      (withCert.requestContext.identity as { clientCert: unknown }).clientCert = {
        subjectDN: 'CN=CICS1,O=Corp',
      };

      // Act
      const iam = fromPayloadV1(signed) as unknown as { requestContext: Record<string, unknown> };
      const mtls = fromPayloadV1(withCert) as unknown as { requestContext: Record<string, unknown> };
      const anonymous = fromPayloadV1(
        restApiEvent({ resource: '/v1/token', path: '/v1/token' }),
      ) as unknown as {
        requestContext: Record<string, unknown>;
      };

      // Assess
      expect(iam.requestContext.authorizer).toMatchObject({
        iam: { userArn: 'arn:aws:sts::1:assumed-role/r/s' },
      });
      expect(mtls.requestContext.authentication).toEqual({ clientCert: { subjectDN: 'CN=CICS1,O=Corp' } });
      expect(anonymous.requestContext.authorizer).toBeUndefined();
      expect(anonymous.requestContext.authentication).toBeUndefined();
    });
  });

  describe('toPayloadV1Result', () => {
    it('keeps status, headers, body and the base64 flag, and turns cookies into Set-Cookie values', () => {
      expect(
        toPayloadV1Result({
          statusCode: 201,
          headers: { 'content-type': 'application/octet-stream' },
          cookies: ['a=1', 'b=2'],
          body: 'AAE=',
          isBase64Encoded: true,
        }),
      ).toEqual({
        statusCode: 201,
        headers: { 'content-type': 'application/octet-stream' },
        multiValueHeaders: { 'set-cookie': ['a=1', 'b=2'] },
        body: 'AAE=',
        isBase64Encoded: true,
      });
    });
  });
});
