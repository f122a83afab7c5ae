// Every log line of a handler carries the Lambda context (Powertools injectLambdaContext): which function,
// which invocation, and whether it was a cold start. Captured from the logger's real output stream.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { createGateway } from '#lib/composition.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import { healthHandler, tokenHandler } from '#lib/http/handlers.ts';
import { logger } from '#lib/observability/logger.ts';
import { httpApiEvent, lambdaContext } from '#test/support/api-gateway-events.ts';

let written: MockInstance;
let sampling: MockInstance;
let lines: Array<Record<string, unknown>>;

beforeEach(() => {
  lines = [];
  logger.setLogLevel('INFO');
  // Each invocation after the first puts the level back to the initial one (SILENT in tests) unless the
  // sampling rate says DEBUG: keep INFO for the test.
  sampling = vi.spyOn(logger, 'refreshSampleRateCalculation').mockImplementation(() => undefined);
  written = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const text = String(chunk);
    if (text.startsWith('{')) lines.push(JSON.parse(text));
    return true;
  });
});

afterEach(() => {
  written.mockRestore();
  sampling.mockRestore();
  logger.setLogLevel('SILENT');
});

describe('handler logs', () => {
  describe('Lambda context', () => {
    it('puts function name, request id and the cold start flag on every line of an invocation', async () => {
      // Prepare
      const dir = await mkdtemp(join(tmpdir(), 'logs-'));
      const { config } = parseConfig({
        signingKeys: { k: { type: 'local', path: join(dir, 'k.json'), generate: true } },
        targets: {
          t: {
            tokenEndpoint: 'https://as.example/token',
            clientId: 'c',
            clientAuthentication: { method: 'none' },
          },
        },
      });
      const gateway = createGateway(config);
      const handler = tokenHandler(async () => gateway);
      const first = lambdaContext();
      const second = lambdaContext();
      const refused = () => httpApiEvent({ body: { target: 't', subject: 'U' } });

      // Act
      await handler(refused(), first);
      await handler(refused(), second);

      // Assess
      const refusals = lines.filter((line) => line.message === 'request refused');
      expect(refusals).toHaveLength(2);
      expect(refusals[0]).toMatchObject({
        function_name: first.functionName,
        function_request_id: first.awsRequestId,
        function_memory_size: '512',
      });
      expect(refusals[1]).toMatchObject({ function_request_id: second.awsRequestId });
      // true only for the first invocation of an on-demand container (AWS_LAMBDA_INITIALIZATION_TYPE).
      for (const line of lines) expect(typeof line.cold_start).toBe('boolean');
    });

    it('is on the health function’s lines too', async () => {
      // Prepare
      const context = lambdaContext();
      logger.setLogLevel('DEBUG');

      // Act
      await healthHandler()(httpApiEvent({ method: 'PUT', path: '/health' }), context);

      // Assess
      const refusal = lines.find((line) => line.message === 'request refused');
      expect(refusal).toMatchObject({
        function_name: context.functionName,
        function_request_id: context.awsRequestId,
      });
    });
  });
});
