import { finishPayout, PAYOUT_FINISH_TASK } from '#shared/store/ledger';
import type { SweepTask } from '#shared/sweeper';

/** Ends the creation of a payout its creator left `creating` (a crash, a timeout): total from its lines, then pending. */
export const payoutFinishTask: SweepTask = {
  name: PAYOUT_FINISH_TASK,
  async handle(item, deps) {
    const total = await finishPayout(deps.store, String(item.id));
    if (total !== undefined) deps.log.warn('payout creation ended by the sweeper', { payoutId: item.id, total });
  },
};
