import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.ts';

/** A document client for the configured endpoint (DynamoDB Local when DYNAMODB_ENDPOINT is set). */
export function createDocumentClient(config: Pick<Config, 'DYNAMODB_ENDPOINT' | 'AWS_REGION'>): DynamoDBDocumentClient {
  const local = Boolean(config.DYNAMODB_ENDPOINT);
  const client = new DynamoDBClient({
    region: config.AWS_REGION,
    ...(local
      ? { endpoint: config.DYNAMODB_ENDPOINT, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
    maxAttempts: 4,
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
