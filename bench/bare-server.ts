// The benchmark's baseline: a bare node:http server answering a fixed JSON body of a token response's size.
import { createServer } from 'node:http';

const body = JSON.stringify({
  access_token: 'x'.repeat(43),
  token_type: 'Bearer',
  expires_in: 900,
  expires_at: 1_800_000_000,
  scope: 'demo.read',
});
const port = Number(process.env.PORT ?? 0);
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
});
server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
