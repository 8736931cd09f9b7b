import { inject } from 'vitest';

/** The DynamoDB Local of this test worker (global-setup starts one per worker). */
export function dynamoEndpoint(): string {
  const endpoints = inject('dynamoEndpoints');
  const worker = Number(process.env.VITEST_POOL_ID ?? 1);
  return endpoints[(worker - 1) % endpoints.length]!;
}
