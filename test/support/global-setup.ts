import type { TestProject } from 'vitest/node';
import { startDynamoLocal } from '../../infra/local/dynamodb.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoints: string[];
  }
}

/**
 * One DynamoDB Local (in memory) per test worker for the whole run; each test file makes its
 * own table. A DynamoDB Local runs its requests on about one core, so workers sharing one
 * would wait on it while the other core idles.
 */
export default async function setup(project: TestProject) {
  const workers = Math.max(1, Number(project.config.maxWorkers) || 1);
  const started = await Promise.allSettled(Array.from({ length: workers }, () => startDynamoLocal()));
  const dynamos = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stopAll = () => Promise.all(dynamos.map((d) => d.stop()));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stopAll();
    throw (failed as PromiseRejectedResult).reason;
  }
  project.provide(
    'dynamoEndpoints',
    dynamos.map((d) => d.endpoint),
  );
  const stop = () => void stopAll();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return async () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await stopAll();
  };
}
