// POWERTOOLS_LOGGER_LOG_EVENT=true makes Powertools log every invocation's whole event. What it logs must
// hold no credential: the headers proxy mode never forwards (one list), cookies, presigned query
// parameters, what the deployment's Lambda authorizer reads, and the facade's password. Captured from
// the logger's real output stream, with the variables set before the logger exists, as in a deployment.
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { httpApiEvent, lambdaContext, restApiEvent } from '#test/support/api-gateway-events.ts';

let written: MockInstance;
let lines: Array<Record<string, unknown>>;

beforeAll(() => {
  vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
  vi.stubEnv(
    'CALLER_AUTHORIZER_IDENTITY_SOURCE',
    '$request.header.X-Caller-Token,$request.querystring.caller_token',
  );
  lines = [];
  written = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const text = String(chunk);
    if (text.startsWith('{')) lines.push(JSON.parse(text));
    return true;
  });
});

afterAll(() => {
  written.mockRestore();
  vi.unstubAllEnvs();
});

describe('event logging (POWERTOOLS_LOGGER_LOG_EVENT)', () => {
  it('logs the event with every credential redacted and the rest kept', async () => {
    // Prepare: imported only now, so that the logger reads the variables as at a cold start.
    const { logger } = await import('#lib/observability/logger.ts');
    const { oauthTokenHandler } = await import('#lib/http/oauth-token-handler.ts');
    logger.setLogLevel('INFO');
    const query =
      'a=1&X-Amz-Credential=ASIA-cred-LEAK&X-Amz-Signature=sig-LEAK&X-Amz-Security-Token=sts-q-LEAK&caller_token=query-LEAK';
    const event = httpApiEvent({
      method: 'POST',
      path: `/oauth2/demo/token?${query}`,
      body: 'grant_type=password&username=CICSUSR1&password=password-LEAK&client_secret=body-LEAK',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('zos:basic-LEAK').toString('base64')}`,
        cookie: 'session=cookie-LEAK',
        'proxy-authorization': 'Basic proxy-LEAK',
        'x-amz-security-token': 'sts-LEAK',
        'x-subject-token': 'opaque-subject-LEAK',
        'x-api-key': 'api-key-LEAK',
        'x-forwarded-client-cert': 'Hash=xfcc-LEAK',
        'client-cert': ':client-cert-LEAK:',
        'x-amzn-mtls-clientcert': 'mtls-LEAK',
        'x-caller-token': 'authorizer-LEAK',
        'x-custom': 'kept-value',
      },
    });
    event.cookies = ['session=cookies-LEAK'];
    const handler = oauthTokenHandler(async () => {
      throw new Error('no gateway needed: the event is logged before the handler runs');
    });

    // Act
    await handler(event, lambdaContext());

    // Assess
    const logged = lines.find((line) => line.message === 'Lambda invocation event');
    expect(logged).toBeDefined();
    const text = JSON.stringify(logged);
    expect(text).not.toMatch(/LEAK/);
    expect(text).toContain('kept-value');
    expect(text).toContain('username=CICSUSR1');
    expect((logged as { event: { rawQueryString: string } }).event.rawQueryString).toBe(
      'a=1&X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&X-Amz-Security-Token=[REDACTED]&caller_token=[REDACTED]',
    );
  });

  /** The invocation events logged since `from`, and their bodies as the bytes they stand for. */
  const loggedEvents = (from: number) =>
    lines
      .slice(from)
      .filter((line) => line.message === 'Lambda invocation event')
      .map((line) => {
        const event = line.event as { body?: string; isBase64Encoded?: boolean };
        const bytes = event.isBase64Encoded
          ? Buffer.from(event.body ?? '', 'base64')
          : Buffer.from(event.body ?? '');
        return { text: JSON.stringify(line), body: event.body ?? '', decoded: bytes.toString('latin1') };
      });

  it('redacts the credentials of a base64-encoded body too (binary media types; a private REST API sends every body so)', async () => {
    // Prepare: the facade's form and an invalidation's JSON, base64-encoded by an HTTP API and by a
    // REST API (payload 1.0) whose binary media type is */*.
    const { logger } = await import('#lib/observability/logger.ts');
    logger.setLogLevel('INFO');
    // What Powertools' middleware does with each event when POWERTOOLS_LOGGER_LOG_EVENT is true.
    const handler = async (event: unknown, _context: unknown) => logger.logEventIfEnabled(event);
    const form = 'grant_type=password&username=CICSUSR1&password=password-LEAK&client_secret=body-LEAK';
    const from = lines.length;

    // Act
    await handler(
      httpApiEvent({
        method: 'POST',
        path: '/oauth2/demo/token',
        body: form,
        base64: true,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      lambdaContext(),
    );
    await handler(
      restApiEvent({
        method: 'POST',
        resource: '/oauth2/{target}/token',
        path: '/oauth2/demo/token',
        pathParameters: { target: 'demo' },
        body: form,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      }),
      lambdaContext(),
    );
    await handler(
      httpApiEvent({
        method: 'POST',
        path: '/oauth2/demo/token',
        body: { target: 'demo', subject: 'CICSUSR1', access_token: 'token-LEAK' },
        base64: true,
      }),
      lambdaContext(),
    );

    // Assess: each body, decoded, has its credentials redacted and keeps the rest.
    const logged = loggedEvents(from);
    expect(logged).toHaveLength(3);
    for (const { text, decoded } of logged) {
      expect(text).not.toMatch(/LEAK/);
      expect(decoded).not.toMatch(/LEAK/);
      expect(decoded).toContain('CICSUSR1');
    }
  });

  it('leaves out a base64-encoded body that is not UTF-8 (an EBCDIC form, say): its fields cannot be read', async () => {
    // Prepare: the facade's form in IBM-037, as a mainframe client misconfigured would send it.
    const { logger } = await import('#lib/observability/logger.ts');
    logger.setLogLevel('INFO');
    const handler = async (event: unknown, _context: unknown) => logger.logEventIfEnabled(event);
    // 'password=LEAK' in IBM-037.
    const ebcdic = Buffer.from([
      0x97, 0x81, 0xa2, 0xa2, 0xa6, 0x96, 0x99, 0x84, 0x7e, 0xd3, 0xc5, 0xc1, 0xd2,
    ]);
    const event = httpApiEvent({ method: 'POST', path: '/oauth2/demo/token', body: 'x', base64: true });
    event.body = ebcdic.toString('base64');
    const from = lines.length;

    // Act
    await handler(event, lambdaContext());

    // Assess
    const [logged] = loggedEvents(from);
    expect(logged?.body).not.toBe(event.body);
    expect(logged?.body).toMatch(/^\[REDACTED/);
  });
});
