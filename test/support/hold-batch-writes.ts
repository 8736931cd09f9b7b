import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { vi } from 'vitest';
import type { Store } from '#shared/store/store';
import { deferred } from './deferred.ts';

/**
 * Holds the BatchWriteItem requests `store` sends from now on, unanswered, as DynamoDB still
 * working through a burst would: `held(pk)` counts the held items whose pk begins with `pk`;
 * after `stop()` new requests go through (the held ones still wait); `release()` lets the held
 * ones go and puts the client back.
 */
export function holdBatchWrites(store: Store) {
  const send = store.client.send.bind(store.client);
  const gate = deferred();
  const heldItems: string[] = [];
  let holding = true;
  const spy = vi.spyOn(store.client, 'send').mockImplementation((async (command: object) => {
    if (holding && command instanceof BatchWriteCommand) {
      for (const requests of Object.values(command.input.RequestItems ?? {}))
        for (const r of requests) if (r.PutRequest?.Item) heldItems.push(String(r.PutRequest.Item.pk));
      await gate.promise;
    }
    return send(command as never);
  }) as never);
  return {
    held: (pk: string) => heldItems.filter((p) => p.startsWith(pk)).length,
    stop: () => {
      holding = false;
    },
    release: () => {
      gate.resolve();
      spy.mockRestore();
    },
  };
}
