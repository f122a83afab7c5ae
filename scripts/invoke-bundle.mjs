// Loads one bundled Lambda function in this (fresh) Node process and invokes it once, as the Lambda
// runtime would: import the module (its init, top-level await included), then call `handler(event,
// context)`. Used by test/infra/bundles.test.ts and bench/bundles.ts; plain JavaScript so that nothing
// but Node itself (no TypeScript loader) is measured.
//
//   node scripts/invoke-bundle.mjs dist/health/index.mjs '<API Gateway v2 event as JSON>'
//
// Prints one line `@@result {"statusCode",…,"importMs","invokeMs"}`, or `@@error <message>` (exit 1) when
// the module cannot be loaded (a failed init) or the handler throws.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, eventJson = '{}'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/invoke-bundle.mjs <bundle> [event-json]');
  process.exit(2);
}

const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'jwt-bearer-gateway-bundle',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-central-1:123456789012:function:jwt-bearer-gateway-bundle',
  memoryLimitInMB: '512',
  awsRequestId: randomUUID(),
  logGroupName: '/aws/lambda/jwt-bearer-gateway-bundle',
  logStreamName: '2026/01/01/[$LATEST]00000000000000000000000000000000',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

const started = performance.now();
let stage = 'import';
try {
  const { handler } = await import(pathToFileURL(resolve(file)).href);
  const imported = performance.now();
  stage = 'invoke';
  const result = await handler(JSON.parse(eventJson), context);
  const invoked = performance.now();
  const line = { ...result, importMs: imported - started, invokeMs: invoked - imported };
  process.stdout.write(`@@result ${JSON.stringify(line)}\n`);
} catch (error) {
  process.stdout.write(
    `@@error ${stage}: ${error instanceof Error ? `${error.name}: ${error.message}` : error}\n`,
  );
  process.exitCode = 1;
}
