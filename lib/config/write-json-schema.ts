// npm run schema:config — regenerates docs/config.schema.json (a test fails when it is stale).
import { writeFile } from 'node:fs/promises';
import { configJsonSchema } from './json-schema.ts';

const target = new URL('../../docs/config.schema.json', import.meta.url);
await writeFile(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
