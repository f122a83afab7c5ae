// npm run openapi — regenerates docs/openapi.json from the handlers' schemas (a test fails when it is stale).
import { writeFile } from 'node:fs/promises';
import { VERSION } from '../version.ts';
import { openApiDocument } from './openapi.ts';

const target = new URL('../../docs/openapi.json', import.meta.url);
await writeFile(target, `${JSON.stringify(openApiDocument(VERSION), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
