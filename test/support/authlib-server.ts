import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface AuthlibClient {
  readonly client_id: string;
  readonly client_secret: string;
  readonly scope?: string;
}

export interface AuthlibServer {
  readonly tokenEndpoint: string;
  close(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./authlib-token-endpoint.py', import.meta.url));

/**
 * Starts Authlib's token endpoint (Debian's python3-authlib, run by the system Python) on an ephemeral
 * port: an authorization server that shares no code with the gateway. `.ci/run` installs the package.
 */
export async function startAuthlibServer(clients: readonly AuthlibClient[]): Promise<AuthlibServer> {
  const child = spawn('/usr/bin/python3', [SCRIPT, JSON.stringify(clients)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    let errors = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      reject(new Error(`the Authlib server exited (${code}): ${errors.slice(-2000)}`)),
    );
  });
  return {
    tokenEndpoint: `http://127.0.0.1:${port}/token`,
    close: () => stop(child),
  };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill();
  });
}
