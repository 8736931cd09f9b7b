import type { TestProject } from 'vitest/node';
import { startDynamoLocal } from '../../infra/local/dynamodb.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

/** One DynamoDB Local (in memory) for the whole run; each test file makes its own table. */
export default async function setup(project: TestProject) {
  const dynamo = await startDynamoLocal();
  project.provide('dynamoEndpoint', dynamo.endpoint);
  const stop = () => void dynamo.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return async () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await dynamo.stop();
  };
}
