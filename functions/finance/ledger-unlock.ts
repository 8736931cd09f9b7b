import { unlockEntry } from '#shared/domain/ledger/unlock-entry';
import { UNLOCK_TASK } from '#shared/store/ledger';
import type { SweepTask } from '#shared/sweeper';

/** Unlocks ledger entries at their `unlockAt`: locked → available, with the balance moved in the same transaction. */
export const ledgerUnlockTask: SweepTask = {
  name: UNLOCK_TASK,
  async handle(item, deps) {
    await unlockEntry(deps, String(item.id));
  },
};
