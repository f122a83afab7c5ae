// What docs/MAINFRAME.md's samples put on the wire, byte for byte, sent to npm start's local server
// (in process, on embedded defaults with the target renamed "payments" as in the samples), and the
// answers the page documents. The bodies are computed from the samples themselves: the COBOL STRING
// statements, the HWTH request body, the facade's form and z/OS Connect's requestBody template. Each
// is sent as the sample sends it (UTF-8: CHARACTERSET('UTF-8'), HWTH_XLATE_REQBODY_E2A) and as the
// first-try mistake would (EBCDIC), which the gateway must name.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '#lib/composition.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import { ebcdicCodePage } from '#lib/http/ebcdic.ts';
import { type EmbeddedDefaults, startEmbeddedDefaults } from '#lib/local/embedded-defaults.ts';
import { createLambdaHttpServer, gatewayRoutes } from '#lib/local/lambda-http-server.ts';
import {
  type CobolUnit,
  cobolUnits,
  evaluateString,
  stringStatements,
} from '#test/mainframe/cobol-samples.ts';
import { listen } from '#test/support/ports.ts';

/** IBM-037 for printable ASCII (0x20-0x7E), from Python's cp037 codec: a second source beside lib's table. */
const IBM037_PRINTABLE = Buffer.from(
  '405a7f7b5b6c507d4d5d5c4e6b604b61f0f1f2f3f4f5f6f7f8f97a5e4c7e6e6f7cc1c2c3c4c5c6c7c8c9d1d2d3d4d5d6d7d8d9' +
    'e2e3e4e5e6e7e8e9bae0bbb06d79818283848586878889919293949596979899a2a3a4a5a6a7a8a9c04fd0a1',
  'hex',
);
/** What a program that forgot the code page sends: its EBCDIC bytes. */
const ibm037 = (text: string) =>
  Buffer.from([...text].map((char) => IBM037_PRINTABLE[char.charCodeAt(0) - 0x20]!));

/** z/OS Connect's placeholder in requestBody (IBM, "Calling an authentication server"). */
const USERID_PLACEHOLDER = '$' + '{userid}';

let dir: string;
let server: Server;
let origin: string;
let defaults: EmbeddedDefaults;
let gateway: Gateway;
let page: string;
let units: CobolUnit[];

beforeAll(async () => {
  page = await readFile('docs/MAINFRAME.md', 'utf8');
  units = cobolUnits(page);
  dir = await mkdtemp(join(tmpdir(), 'mainframe-wire-'));
  // As lib/local/main.ts does: listen first (port 0), then start the demo AS that trusts our JWKS.
  let ready!: (gateway: Gateway) => void;
  const gatewayReady = new Promise<Gateway>((resolve) => {
    ready = resolve;
  });
  server = createLambdaHttpServer(gatewayRoutes(() => gatewayReady));
  origin = await listen(server);
  defaults = await startEmbeddedDefaults({ stateDirectory: dir, jwksUrl: `${origin}/.well-known/jwks.json` });
  // The samples' target is "payments", their proxy path /accounts/...: the demo target under that name.
  const config = structuredClone(defaults.config) as {
    targets: Record<string, { proxy?: { pathPrefixes: string[] } }>;
    callers: Record<string, { targets: Record<string, unknown> }>;
  };
  const demo = config.targets.demo!;
  config.targets = {
    payments: { ...demo, proxy: { ...demo.proxy!, pathPrefixes: ['/whoami', '/accounts'] } },
  };
  config.callers.demo!.targets = { payments: config.callers.demo!.targets.demo };
  gateway = createGateway(parseConfig(config as never, 'mainframe samples').config, {
    env: { ...process.env, ...defaults.env },
  });
  ready(gateway);
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await defaults?.close();
  await rm(dir, { recursive: true, force: true });
});

const program = (name: string) => units.find((unit) => unit.name === name)!;

/** The VALUE literal of a data item the program declares (PATH, MEDIATYPE, header names...). */
function declaredValue(unit: CobolUnit, item: string): string {
  const declared = new RegExp(`${item}\\s+PIC X\\((\\d+)\\)\\s+VALUE '([^']*)'`).exec(unit.text);
  if (!declared) throw new Error(`${unit.name} declares no ${item} with a VALUE`);
  return declared[2]!;
}

/** A COBOL PIC X(n) field holding a value: blank-padded. */
const padded = (value: string, length: number) => value.padEnd(length, ' ');

async function send(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: Buffer },
) {
  const response = await fetch(`${origin}${path}`, {
    method: init.method ?? 'POST',
    headers: init.headers ?? {},
    ...(init.body ? { body: new Uint8Array(init.body) } : {}),
  });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, json, text };
}

describe('docs/MAINFRAME.md samples on the wire', () => {
  describe('CICS JBGCALL', () => {
    /** GET-TOKEN's body as the STRING statement builds it from the task's padded fields. */
    const tokenBody = () =>
      evaluateString(stringStatements(program('JBGCALL'), 'WS-BODY')[0]!, {
        'JBG-TARGET': padded('payments', 64),
        'JBG-SUBJECT': padded('CICSUSR1', 256),
      });
    const headers = () => ({
      'content-type': declaredValue(program('JBGCALL'), 'WS-MEDIATYPE'),
      'x-api-key': defaults.apiKey,
    });

    it('GET-TOKEN: the UTF-8 body CHARACTERSET(UTF-8) sends gets a token for CICSUSR1', async () => {
      // Prepare
      const body = Buffer.from(tokenBody(), 'utf8');

      // Act
      const response = await send(declaredValue(program('JBGCALL'), 'WS-TOKEN-PATH'), {
        headers: headers(),
        body,
      });

      // Assess
      expect(body.toString()).toBe('{"target":"payments","subject":"CICSUSR1"}');
      expect(response.status).toBe(200);
      expect(response.json).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
    });

    it('GET-TOKEN without CHARACTERSET (EBCDIC IBM-037): 400 ebcdic_body naming the fix', async () => {
      // Act
      const response = await send('/v1/token', { headers: headers(), body: ibm037(tokenBody()) });

      // Assess
      expect(response.status).toBe(400);
      expect(response.json?.error).toBe('ebcdic_body');
      expect(response.json?.error_description).toContain('IBM-037');
      expect(response.json?.error_description).toContain("CHARACTERSET('UTF-8')");
    });

    it('DROP-TOKEN: the invalidation body with the refused token drops it', async () => {
      // Prepare
      const issued = await send('/v1/token', { headers: headers(), body: Buffer.from(tokenBody()) });
      const token = String(issued.json?.access_token);
      const body = evaluateString(stringStatements(program('JBGCALL'), 'WS-BODY')[1]!, {
        'JBG-TARGET': padded('payments', 64),
        'JBG-SUBJECT': padded('CICSUSR1', 256),
        'ACCESS-TOKEN': token,
      });

      // Act
      const response = await send(declaredValue(program('JBGCALL'), 'WS-DROP-PATH'), {
        headers: headers(),
        body: Buffer.from(body, 'utf8'),
      });

      // Assess
      expect(response.status).toBe(200);
      expect(response.json).toEqual({ invalidated: true });
    });
  });

  describe('CICS JBGONE (proxy mode)', () => {
    const uri = () =>
      evaluateString(stringStatements(program('JBGONE'), 'WS-URI')[0]!, {
        'JBG-CALL-TARGET': padded('payments', 64),
        'JBG-CALL-PATH': padded('accounts/0000000007', 2048),
      });

    it('the GET with x-subject reaches the API: its own answer, no x-gateway-error', async () => {
      // Act
      const response = await send(uri(), {
        method: 'GET',
        headers: { 'x-api-key': defaults.apiKey, 'x-subject': 'CICSUSR1' },
      });

      // Assess: the demo API serves /whoami only, so its own 404 comes back untouched.
      expect(uri()).toBe('/v1/call/payments/accounts/0000000007');
      expect(response.headers.get('x-gateway-error')).toBeNull();
      expect(response.status).toBe(404);
    });

    it('a JSON body in EBCDIC: 400 ebcdic_body from the gateway (x-gateway-error), the API never called', async () => {
      // Act
      const response = await send('/v1/call/payments/whoami', {
        headers: {
          'x-api-key': defaults.apiKey,
          'x-subject': 'CICSUSR1',
          'content-type': 'application/json',
        },
        body: ibm037('{"amount":100}'),
      });

      // Assess
      expect(response.status).toBe(400);
      expect(response.headers.get('x-gateway-error')).toBe('true');
      expect(response.json?.error).toBe('ebcdic_body');
    });
  });

  describe('z/OS Connect', () => {
    /** The facade request the page shows (the site-specific scope left out: the demo AS has its own). */
    const form = () => {
      const shown = /\n\n {4}(grant_type=password&[^\n]+)/.exec(page)![1]!;
      return shown.replace(/&scope=[^&]*/, '');
    };
    const basic = () => `Basic ${Buffer.from(`demo:${defaults.apiKey}`).toString('base64')}`;

    it('the password grant as z/OS Connect sends it: a token for the username', async () => {
      // Act
      const response = await send('/oauth2/payments/token', {
        headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form(), 'utf8'),
      });

      // Assess
      expect(form()).toBe('grant_type=password&username=CICSUSR1&password=unused');
      expect(response.status).toBe(200);
      expect(response.json).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
    });

    it('a username with the blanks of its 8-byte field (LENGTH OF the field): refused', async () => {
      // Act: 'CICS01  ' form-encoded, as a program that passes the field's full length makes it.
      const response = await send('/oauth2/payments/token', {
        headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from('grant_type=password&username=CICS01++&password=unused'),
      });

      // Assess
      expect(response.status).toBe(400);
      expect(response.json?.error).toBe('invalid_grant');
    });

    it('the form in EBCDIC: 400 invalid_request whose description names EBCDIC and the fix', async () => {
      // Act
      const response = await send('/oauth2/payments/token', {
        headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
        body: ibm037(form()),
      });

      // Assess
      expect(response.status).toBe(400);
      expect(response.json).toMatchObject({
        error: 'invalid_request',
        error_description: expect.stringContaining('EBCDIC (IBM-037)'),
      });
    });

    it('zosconnect_authToken: the requestBody template, its user id filled in, gets a token at $.access_token', async () => {
      // Prepare
      const template = /requestBody='([^']+)'/.exec(page)![1]!;
      // z/OS Connect substitutes the program's BAQR-TOKEN-USERNAME for the ${userid} placeholder.
      const body = template.replace(USERID_PLACEHOLDER, 'CICSUSR1');

      // Act
      const response = await send('/v1/token', {
        headers: { 'content-type': 'application/json', 'x-api-key': defaults.apiKey },
        body: Buffer.from(body, 'utf8'),
      });

      // Assess
      expect(response.status).toBe(200);
      expect(typeof response.json?.access_token).toBe('string');
    });
  });

  describe('batch (HWTH)', () => {
    const requestBody = () => /`HWTH-OPT-REQUESTBODY` = `([^`]+)`/.exec(page)![1]!;

    it('HWTH_XLATE_REQBODY_E2A: the translated body gets a token for BATCH01', async () => {
      // Act
      const response = await send('/v1/token', {
        headers: { 'content-type': 'application/json', 'x-api-key': defaults.apiKey },
        body: Buffer.from(requestBody(), 'ascii'),
      });

      // Assess
      expect(requestBody()).toBe('{"target":"payments","subject":"BATCH01"}');
      expect(response.status).toBe(200);
    });

    it('without the translate option (EBCDIC): 400 ebcdic_body', async () => {
      // Act
      const response = await send('/v1/token', {
        headers: { 'content-type': 'application/json', 'x-api-key': defaults.apiKey },
        body: ibm037(requestBody()),
      });

      // Assess
      expect(response.status).toBe(400);
      expect(response.json?.error).toBe('ebcdic_body');
    });
  });
});

describe('ebcdicCodePage', () => {
  it('tells IBM-1047 from IBM-037 by the brackets, which differ', () => {
    // Prepare: '[' is X'AD' and ']' X'BD' in IBM-1047 (X'BA', X'BB' in IBM-037).
    const ibm1047 = Buffer.concat([ibm037('{"a":'), Buffer.from([0xad, 0xf1, 0xbd]), ibm037('}')]);

    // Act / Assess
    expect(ebcdicCodePage(ibm1047, 'json')).toBe('IBM-1047');
    expect(ebcdicCodePage(ibm037('{"a":[1]}'), 'json')).toBe('IBM-037');
  });

  it('leaves bytes that are not EBCDIC JSON (or a token form) alone: they stay an ordinary invalid_request', () => {
    // Assess
    expect(ebcdicCodePage(Buffer.from([0xff, 0xfe, 0x00, 0x41]), 'json')).toBeUndefined();
    expect(ebcdicCodePage(ibm037('{"a":1'), 'json')).toBeUndefined();
    expect(ebcdicCodePage(ibm037('hello'), 'form')).toBeUndefined();
    expect(ebcdicCodePage(ibm037('grant_type=password&username=A'), 'form')).toBe('IBM-037');
  });
});
