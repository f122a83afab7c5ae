#!/usr/bin/env node
// The operator CLI (package.json "bin"): cli/main.ts run through tsx, like `npm start`. See `--help`.
import { register } from 'tsx/esm/api';

register();
// The URL as it is: its pathname is percent-encoded, and turning that back into a file URL would encode it
// twice (a checkout under a path with a space or a non-ASCII letter would not start).
const { main } = await import(new URL('../cli/main.ts', import.meta.url).href);
const chunks = [];
process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  readStdin: async () => {
    for await (const chunk of process.stdin) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  },
});
