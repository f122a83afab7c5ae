#!/usr/bin/env node
// The operator CLI (package.json "bin"): cli/main.ts run through tsx, like `npm start`. See `--help`.
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { main } = await import(pathToFileURL(new URL('../cli/main.ts', import.meta.url).pathname).href);
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
