import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '#test/support/ports.ts';

/**
 * `npm start` as a user runs it: a child process on a free port with the demo key and client secret
 * fixed, driven only through its banner, its HTTP port and the demo authorization server it prints.
 * Every line it writes is kept, to prove none of them leaks a credential or a token.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const API_KEY = 'e2e-demo-key-5f0c2b7a9d4e41c8b3a6';
const CLIENT_SECRET = 'e2e-demo-client-secret-8a1d3f6b2c9e47d0';
const CLIENT_ID = 'demo-gateway';
/** A compact JWS anywhere in a line: what an assertion (or a JWT access token) looks like. */
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/;

interface Line {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

interface Banner {
  readonly url: string;
  readonly issuer: string;
  readonly curl: { method: string; url: string; headers: Record<string, string>; body: string };
}

let child: ChildProcess;
const lines: Line[] = [];
let exited: Promise<unknown>;
let banner: Banner;
let accessToken = '';
/** The ports DEMO_AS_PORT and DEMO_API_PORT pin (free when asked; the kernel picks them, not the test). */
let demoPorts: { as: number; api: number };

function capture(stream: NodeJS.ReadableStream | null, name: Line['stream']): void {
  if (!stream) return;
  createInterface({ input: stream }).on('line', (text) => lines.push({ stream: name, text }));
}

function transcript(): string {
  return lines.map((line) => `[${line.stream}] ${line.text}`).join('\n');
}

/** Polls the captured output (the child writes when it likes); fails with the transcript after `ms`. */
async function waitFor<T>(what: string, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`npm start exited while waiting for ${what}:\n${transcript()}`);
    }
    if (Date.now() > deadline) throw new Error(`no ${what} after ${ms} ms:\n${transcript()}`);
    await sleep(50);
  }
}

/** The banner's curl command, taken apart the way a shell would read its single-quoted words. */
function parseCurl(command: string): Banner['curl'] {
  const words = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
  const headers: Record<string, string> = {};
  let method = 'GET';
  let url = '';
  let body = '';
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === '-X') method = words[++i]!;
    else if (word === '-H') {
      const [name, ...value] = words[++i]!.split(':');
      headers[name!.trim().toLowerCase()] = value.join(':').trim();
    } else if (word === '-d') body = words[++i]!;
    else if (/^https?:\/\//.test(word)) url = word;
  }
  return { method, url, headers, body };
}

/** Shell words of a command, single quotes removed, as `sh` would pass them to curl. */
function shellWords(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

/** Each `curl` command among lines, its backslash continuations joined: what a user pastes. */
function curlCommands(text: readonly string[]): string[] {
  const commands: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (!text[i]!.trim().startsWith('curl ')) continue;
    let command = text[i]!.trim();
    while (command.endsWith('\\') && i + 1 < text.length)
      command = `${command.slice(0, -1)} ${text[++i]!.trim()}`;
    commands.push(command);
  }
  return commands;
}

function isAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the whole process group: npm, the shell, tsx and the node running main.ts. */
async function stop(): Promise<void> {
  const pgid = child?.pid;
  if (pgid === undefined || !isAlive(pgid)) return;
  process.kill(-pgid, 'SIGTERM');
  await exited;
  for (let i = 0; i < 100 && isAlive(pgid); i++) await sleep(50);
  if (isAlive(pgid)) {
    process.kill(-pgid, 'SIGKILL');
    throw new Error('processes of npm start survived SIGTERM');
  }
}

beforeAll(async () => {
  demoPorts = { as: await freePort(), api: await freePort() };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    DEMO_AS_PORT: String(demoPorts.as),
    DEMO_API_PORT: String(demoPorts.api),
    DEMO_API_KEY: API_KEY,
    DEMO_CLIENT_SECRET: CLIENT_SECRET,
    // The test runner silences logs; the child logs as much as it ever would.
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  };
  delete env.GATEWAY_CONFIG;
  child = spawn('npm', ['start'], { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  exited = once(child, 'exit');
  capture(child.stdout, 'stdout');
  capture(child.stderr, 'stderr');
  banner = await waitFor('banner', () => {
    const text = lines.map((line) => line.text);
    const url = text.map((t) => /listening on (http:\/\/\S+)/.exec(t)?.[1]).find(Boolean);
    const issuer = text.map((t) => /demo authorization server: (\S+)/.exec(t)?.[1]).find(Boolean);
    const curlAt = text.findIndex((t) => t.trim().startsWith('curl '));
    if (!url || !issuer || curlAt < 0 || !text[curlAt + 1]?.includes(' -d ')) return undefined;
    const command = `${text[curlAt]!.replace(/\\\s*$/, '')} ${text[curlAt + 1]}`;
    return { url, issuer, curl: parseCurl(command.trim()) };
  });
}, 30_000);

afterAll(async () => {
  await stop();
}, 15_000);

async function post(body: string, headers: Record<string, string>) {
  const response = await fetch(`${banner.url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('npm start', () => {
  describe('embedded defaults', () => {
    it('binds the demo authorization server and the demo API to DEMO_AS_PORT and DEMO_API_PORT (issue 17, item 19)', () => {
      // Assess
      const text = lines.map((line) => line.text);
      expect(new URL(banner.issuer).port).toBe(String(demoPorts.as));
      const api = text.map((t) => /demo API \(behind the demo target\): (\S+)/.exec(t)?.[1]).find(Boolean);
      expect(new URL(api ?? 'http://x').port).toBe(String(demoPorts.api));
    });

    it('prints a working curl command for the end user CICSUSR1', async () => {
      // Prepare
      const { curl } = banner;

      // Act
      const response = await fetch(curl.url, { method: curl.method, headers: curl.headers, body: curl.body });

      // Assess
      expect(curl).toMatchObject({
        method: 'POST',
        url: `${banner.url}/v1/token`,
        headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      });
      expect(JSON.parse(curl.body)).toEqual({ target: 'demo', subject: 'CICSUSR1' });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ token_type: 'Bearer', scope: 'demo.read' });
      accessToken = String(body.access_token);
    });

    it('prints a working RFC 6749 curl command (client demo, the demo API key as secret)', async () => {
      // Prepare: the two banner lines of the facade command, as a user would paste them.
      const text = lines.map((line) => line.text.trim());
      const at = text.findIndex((t) => t.startsWith("curl -s -u 'demo:"));
      const command = `${text[at]!.replace(/\\$/, '')} ${text[at + 1]}`;
      const user = /-u '([^']+)'/.exec(command)![1]!;
      const form = [...command.matchAll(/-d (\S+)/g)].map((m) => m[1]!);
      const url = command.split(' ').at(-1)!;

      // Act
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(user).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: form.join('&'),
      });

      // Assess
      expect(url).toBe(`${banner.url}/oauth2/demo/token`);
      expect(form).toEqual(['grant_type=password', 'username=CICSUSR1', 'password=unused']);
      expect(response.status).toBe(200);
      expect(response.headers.get('pragma')).toBe('no-cache');
      expect(await response.json()).toMatchObject({
        token_type: 'Bearer',
        scope: 'demo.read',
        expires_in: expect.any(Number),
      });
    });

    it('issues an RFC 9068 access token the demo authorization server signed for CICSUSR1', async () => {
      // Prepare
      const keys = createRemoteJWKSet(new URL(`${banner.issuer}/jwks`));

      // Act
      const { payload, protectedHeader } = await jwtVerify(accessToken, keys, { issuer: banner.issuer });

      // Assess
      expect(protectedHeader.typ).toBe('at+jwt');
      expect(payload).toMatchObject({ sub: 'CICSUSR1', client_id: CLIENT_ID, scope: 'demo.read' });
    });

    it('prints a working one-call curl command: the demo API answers as CICSUSR1', async () => {
      // Prepare
      const command = lines.map((line) => line.text.trim()).find((text) => text.includes('/v1/call/'));
      const curl = parseCurl(command ?? '');

      // Act
      const response = await fetch(curl.url, { headers: curl.headers });

      // Assess
      expect(curl).toMatchObject({
        method: 'GET',
        url: `${banner.url}/v1/call/demo/whoami`,
        headers: { 'x-api-key': API_KEY, 'x-subject': 'CICSUSR1' },
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { sub: string; headers: string[] };
      expect(body.sub).toBe('CICSUSR1');
      expect(body.headers).toContain('authorization');
      expect(body.headers).not.toContain('x-api-key');
      expect(body.headers).not.toContain('x-subject');
    });

    it('refuses a wrong API key and a subject outside the RACF pattern', async () => {
      // Prepare
      const valid = JSON.stringify({ target: 'demo', subject: 'CICSUSR1' });

      // Act
      const wrongKey = await post(valid, { 'x-api-key': `${API_KEY}-wrong` });
      const lowerCase = await post(JSON.stringify({ target: 'demo', subject: 'cicsusr1' }), {
        'x-api-key': API_KEY,
      });
      const badJson = await post('{"target":', { 'x-api-key': API_KEY });

      // Assess
      expect(wrongKey).toMatchObject({ status: 401, json: { error: 'unauthorized_caller' } });
      expect(lowerCase).toMatchObject({ status: 403, json: { error: 'access_denied' } });
      expect(badJson).toMatchObject({ status: 400, json: { error: 'invalid_request' } });
    });

    it('drops a refused token on POST /v1/token/invalidate, the form CICS can send (no body on DELETE)', async () => {
      // Prepare
      const request = { target: 'demo', subject: 'CICSUSR9' };
      const refused = String(
        (await post(JSON.stringify(request), { 'x-api-key': API_KEY })).json.access_token,
      );
      const invalidate = (method: string) =>
        fetch(`${banner.url}/v1/token/invalidate`, {
          method,
          headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
          body: JSON.stringify({ ...request, access_token: refused }),
        });

      // Act
      const dropped = await invalidate('POST');
      const wrongMethod = await invalidate('PUT');
      const renewed = await fetch(`${banner.url}/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
        body: JSON.stringify(request),
      });

      // Assess
      expect([dropped.status, await dropped.json()]).toEqual([200, { invalidated: true }]);
      expect([wrongMethod.status, wrongMethod.headers.get('allow')]).toEqual([405, 'POST']);
      expect(renewed.headers.get('cache-status')).toBe('miss');
      expect(((await renewed.json()) as { access_token: string }).access_token).not.toBe(refused);
    });

    it('logs each of concurrent requests under its own request id', async () => {
      // Prepare
      const subjects = Array.from({ length: 12 }, (_, i) => `CICSU${String(i).padStart(3, '0')}`);

      // Act
      const responses = await Promise.all(
        subjects.map(async (subject, i) => {
          const response = await fetch(`${banner.url}/v1/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': i % 3 ? API_KEY : 'wrong' },
            body: JSON.stringify({ target: 'demo', subject }),
          });
          await response.arrayBuffer();
          return { subject, requestId: response.headers.get('x-request-id'), status: response.status };
        }),
      );

      // Assess
      const audits = await waitFor('an audit line per request', () => {
        const entries = lines
          .filter((line) => line.text.startsWith('{') && line.text.includes('"token request audit"'))
          .map((line) => JSON.parse(line.text) as { correlation_id: string; audit: { request_id: string } });
        const mine = entries.filter((e) => responses.some((r) => r.requestId === e.audit.request_id));
        return mine.length === responses.length ? mine : undefined;
      });
      for (const entry of audits) expect(entry.correlation_id).toBe(entry.audit.request_id);
      const refused = lines
        .filter((line) => line.text.includes('"request refused"'))
        .map((line) => JSON.parse(line.text) as { correlation_id: string });
      const failed = responses.filter((r) => r.status !== 200).map((r) => r.requestId);
      expect(failed).toHaveLength(4);
      for (const requestId of failed) {
        expect(refused.filter((entry) => entry.correlation_id === requestId)).toHaveLength(1);
      }
    });

    it("shows in README.md's Quick start the banner's commands and the fields they answer", async () => {
      // Prepare: the README's sh blocks of the Quick start, with the key and port a reader substitutes.
      const readme = await readFile(join(REPO, 'README.md'), 'utf8');
      const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## What it does'));
      const blocks = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.split('\n'));
      const documented = blocks.flatMap((block) => curlCommands(block));
      const outputs = blocks.flatMap((block) => block.filter((line) => line.startsWith('# {')));
      const printed = curlCommands(lines.map((line) => line.text));
      const substituted = (command: string) =>
        command.replaceAll('<printed at start>', API_KEY).replaceAll('http://127.0.0.1:8080', banner.url);
      const send = async (command: string) => {
        const words = shellWords(command);
        const curl = parseCurl(command);
        const basic = words.includes('-u') ? words[words.indexOf('-u') + 1] : undefined;
        const form = words.flatMap((word, i) => (words[i - 1] === '-d' && word.includes('=') ? [word] : []));
        const response = basic
          ? await fetch(curl.url, {
              method: 'POST',
              headers: {
                authorization: `Basic ${Buffer.from(basic).toString('base64')}`,
                'content-type': 'application/x-www-form-urlencoded',
              },
              body: form.join('&'),
            })
          : await fetch(curl.url, {
              // curl posts a -d body unless -X says otherwise.
              method: curl.method === 'GET' && curl.body ? 'POST' : curl.method,
              headers: curl.headers,
              ...(curl.body ? { body: curl.body } : {}),
            });
        return Object.keys((await response.json()) as object).toSorted();
      };

      // Act
      const answered = await Promise.all(documented.map((command) => send(substituted(command))));

      // Assess: the same commands, word for word, in the order the banner prints them...
      expect(documented.map((command) => shellWords(substituted(command))).toSorted()).toEqual(
        printed.map((command) => shellWords(command)).toSorted(),
      );
      expect(documented).toHaveLength(3);
      // ...and each README example answer names the fields the command really returns.
      const fields = outputs.map((output) =>
        [...output.matchAll(/"([a-z_]+)":/g)].map((m) => m[1]!).toSorted(),
      );
      expect(fields).toEqual(answered);
    });

    it('lets the operator CLI test the demo target and print the JWKS with no options (issue 17, item 17)', async () => {
      // Prepare: what a newcomer types in another terminal, in the same directory.
      const gw = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          const env: NodeJS.ProcessEnv = { ...process.env };
          for (const name of ['GATEWAY_CONFIG_SOURCE', 'SIGNING_KEY_BLUE_ID', 'SIGNING_KEY_GREEN_ID']) {
            delete env[name];
          }
          execFile(
            'npm',
            ['run', '--silent', 'gw', '--', ...args],
            { cwd: REPO, env },
            (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
          );
        });
      const published = (await (await fetch(`${banner.url}/.well-known/jwks.json`)).json()) as {
        keys: Array<{ kid: string }>;
      };

      // Act
      const tested = await gw(['test-target', 'demo', '--subject', 'CICSUSR1']);
      const printed = await gw(['jwks', '--json']);

      // Assess
      expect(tested.stderr).toContain('embedded defaults of the running npm start');
      expect({ code: tested.code, stdout: tested.stdout }).toMatchObject({
        code: 0,
        stdout: expect.stringContaining('ok   exchange'),
      });
      expect(printed.code).toBe(0);
      const kids = (JSON.parse(printed.stdout) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
      expect(kids).toEqual(published.keys.map((key) => key.kid));
      for (const output of [tested.stdout, tested.stderr, printed.stdout, printed.stderr]) {
        expect(output).not.toContain(CLIENT_SECRET);
      }
    }, 60_000);

    it('stops on SIGTERM with every process of it, and no line it wrote holds a secret', async () => {
      // Prepare
      const signingKey = JSON.parse(await readFile(join(REPO, '.state', 'signing-key.json'), 'utf8')) as {
        d: string;
      };

      // Act
      await stop();

      // Assess
      expect(lines.length).toBeGreaterThan(10);
      // The banner shows the demo key on purpose (the curl command needs it); nothing else may.
      const withKey = lines.filter((line) => line.text.includes(API_KEY)).map((line) => line.text.trim());
      expect(withKey).toEqual([
        `demo API key: ${API_KEY}`,
        `-H 'x-api-key: ${API_KEY}' -d '{"target":"demo","subject":"CICSUSR1"}'`,
        `curl -s -u 'demo:${API_KEY}' -d grant_type=password -d username=CICSUSR1 \\`,
        `curl -H 'x-api-key: ${API_KEY}' -H 'x-subject: CICSUSR1' ${banner.url}/v1/call/demo/whoami`,
      ]);
      expect(accessToken.length).toBeGreaterThan(20);
      for (const line of lines) {
        expect(line.text).not.toContain(CLIENT_SECRET);
        expect(line.text).not.toContain(accessToken);
        expect(line.text).not.toContain(signingKey.d);
        expect(line.text).not.toMatch(JWT);
      }
    }, 15_000);
  });
});
