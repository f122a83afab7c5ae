import { createRequire } from 'node:module';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TOKEN_TABLE_DEFINITION } from '#lib/cache/table.ts';
import { listen } from './ports.ts';

const require = createRequire(import.meta.url);
// dynalite ships CommonJS without types.
const dynalite = require('dynalite') as (options: Record<string, number>) => import('node:http').Server;

export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Stops answering: open connections are cut, new ones refused (DynamoDB "stopped mid-test"). */
  stop(): Promise<void>;
  close(): Promise<void>;
}

/**
 * dynalite (a DynamoDB emulator speaking the real protocol) on 127.0.0.1, with the token table created
 * from the same definition the CloudFormation template uses. No TTL expiry, no transactions: the code
 * relies on neither.
 */
export async function startDynamoDb(tableName = 'jwt-bearer-gateway-tokens'): Promise<LocalDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const origin = await listen(server);
  const endpoint = `${origin}`;
  const client = dynamoDbClient(endpoint);
  await client.send(new CreateTableCommand({ TableName: tableName, ...TOKEN_TABLE_DEFINITION }));
  // dynalite answers CreateTable with CREATING even with createTableMs 0, and refuses item writes with
  // ResourceNotFoundException until the table is ACTIVE, a tick later: a test's first write can win.
  while (
    (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus !== 'ACTIVE'
  ) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { endpoint, client, tableName, stop, close: stop };
}

/** A real SDK client for it, with short timeouts and one retry, as the gateway configures its own. */
export function dynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 300, requestTimeout: 1000, throwOnRequestTimeout: true },
  });
}
