import { createServer } from 'node:http';
import type { SigningKeyRing } from '#lib/signing/key-ring.ts';
import { listen } from './ports.ts';

/** Publishes a key ring's JWKS over HTTP, as the gateway's /.well-known/jwks.json does, for AS tests. */
export async function serveJwks(keyRing: SigningKeyRing): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (_req, res) => {
    try {
      const body = JSON.stringify(await keyRing.jwks());
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } catch {
      res.writeHead(503).end();
    }
  });
  const origin = await listen(server);
  return {
    url: `${origin}/.well-known/jwks.json`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
