// npm run openapi — regenerates docs/openapi.json and the requester documents (OpenAPI 3.0 and 2.0)
// from the handlers' schemas (a test fails when any is stale).
import { writeFile } from 'node:fs/promises';
import { VERSION } from '../version.ts';
import { openApiDocument } from './openapi.ts';
import { requesterOpenApiDocument, requesterSwagger2Document } from './openapi-requester.ts';

for (const [file, document] of [
  ['openapi.json', openApiDocument(VERSION)],
  ['openapi-requester.json', requesterOpenApiDocument(VERSION)],
  ['openapi-requester-swagger2.json', requesterSwagger2Document(VERSION)],
] as const) {
  const target = new URL(`../../docs/${file}`, import.meta.url);
  await writeFile(target, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`wrote ${target.pathname}`);
}
