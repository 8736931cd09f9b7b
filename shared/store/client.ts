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
    // Many requests in flight at once against one endpoint (the local server under load): up to
    // 128 connections (DynamoDB Local's server drops some beyond that), the rest wait their turn
    // quietly. On Lambda a container serves one request at a time, so this changes nothing there.
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets: 128 },
      httpsAgent: { keepAlive: true, maxSockets: 128 },
      socketAcquisitionWarningTimeout: 60_000,
      // Queueing for a socket is that design working, not a fault: the handler does not warn of it.
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: (...a: unknown[]) => console.error(...a) },
    },
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
