/**
 * The one table, defined once: the CDK stack and the local runtime both build it from here.
 * Generic keys; every item carries `entity`. Indexes:
 * - gsi1, gsi2: per-area secondary access patterns (see keys.ts)
 * - gsi3: the sweeper's due index (`DUE#<task>#<shard>` → `<dueAt ISO>#<id>`), sparse
 * - gsi4: the outbox's pending index (`OUTBOX#<shard>` → event id), sparse; the local bus reads it
 */
export const tableDefinition = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  indexes: [
    { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    { name: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
    { name: 'gsi4', partitionKey: 'gsi4pk', sortKey: 'gsi4sk' },
  ],
} as const;

export type IndexName = (typeof tableDefinition.indexes)[number]['name'];

/** Every key attribute is a string. */
export function keyAttributes(): string[] {
  const d = tableDefinition;
  return [d.partitionKey, d.sortKey, ...d.indexes.flatMap((i) => [i.partitionKey, i.sortKey])];
}
