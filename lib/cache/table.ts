/**
 * The token cache table, shared by the DynamoDB adapter, the tests (dynalite) and the CloudFormation
 * template, so all three agree on its shape.
 */
export const TOKEN_TABLE = {
  partitionKey: 'pk',
  /** Epoch seconds; DynamoDB TTL deletes expired items eventually. Reads never rely on it. */
  ttlAttribute: 'ttl',
} as const;

export const TOKEN_TABLE_DEFINITION: {
  AttributeDefinitions: Array<{ AttributeName: string; AttributeType: 'S' }>;
  KeySchema: Array<{ AttributeName: string; KeyType: 'HASH' }>;
  BillingMode: 'PAY_PER_REQUEST';
} = {
  AttributeDefinitions: [{ AttributeName: TOKEN_TABLE.partitionKey, AttributeType: 'S' }],
  KeySchema: [{ AttributeName: TOKEN_TABLE.partitionKey, KeyType: 'HASH' }],
  BillingMode: 'PAY_PER_REQUEST',
};
