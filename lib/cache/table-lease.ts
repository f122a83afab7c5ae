import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { awsCallOptions } from '../aws/call-limits.ts';
import { TOKEN_TABLE } from './table.ts';

/**
 * An item of the token table that one holder owns until `until` (epoch ms): the token cache's refresh
 * lease and admission's in-flight slots. Kept apart from table.ts, which the CloudFormation template and
 * the tests read without the AWS SDK.
 */
interface TableLease {
  readonly tableName: string;
  readonly pk: string;
  readonly holder: string;
}

type CallOptions = ReturnType<typeof awsCallOptions>;

/**
 * Takes the lease with a conditional put: true when there was none or only an expired one, false when
 * another holder's is still running. Any other failure is thrown as the SDK raised it, for the caller to
 * map to its own code.
 */
export async function acquireTableLease(
  client: DynamoDBClient,
  lease: TableLease & { readonly until: number; readonly ttlSeconds: number; readonly now: number },
  options: CallOptions,
): Promise<boolean> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: lease.tableName,
        Item: {
          [TOKEN_TABLE.partitionKey]: { S: lease.pk },
          holder: { S: lease.holder },
          until: { N: String(lease.until) },
          [TOKEN_TABLE.ttlAttribute]: { N: String(lease.ttlSeconds) },
        },
        ConditionExpression: 'attribute_not_exists(#pk) OR #until < :now',
        ExpressionAttributeNames: { '#pk': TOKEN_TABLE.partitionKey, '#until': 'until' },
        ExpressionAttributeValues: { ':now': { N: String(lease.now) } },
      }),
      options,
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/**
 * Gives the lease back if it is still this holder's; one that expired and was taken by another holder is
 * left alone. Any other failure is thrown as the SDK raised it.
 */
export async function releaseTableLease(
  client: DynamoDBClient,
  lease: TableLease,
  options: CallOptions,
): Promise<void> {
  try {
    await client.send(
      new DeleteItemCommand({
        TableName: lease.tableName,
        Key: { [TOKEN_TABLE.partitionKey]: { S: lease.pk } },
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: { ':holder': { S: lease.holder } },
      }),
      options,
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
