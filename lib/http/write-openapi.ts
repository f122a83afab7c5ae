// npm run openapi — regenerates docs/openapi.json and docs/openapi-requester.json from the handlers'
// schemas (a test fails when either is stale).
import { writeFile } from 'node:fs/promises';
import { VERSION } from '../version.ts';
import { openApiDocument } from './openapi.ts';
import { requesterOpenApiDocument } from './openapi-requester.ts';

for (const [file, document] of [
  ['openapi.json', openApiDocument(VERSION)],
  ['openapi-requester.json', requesterOpenApiDocument(VERSION)],
] as const) {
  const target = new URL(`../../docs/${file}`, import.meta.url);
  await writeFile(target, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`wrote ${target.pathname}`);
}
