import type { Deps } from '#shared/deps';
import { PAYOUT_FINISH_AFTER_MS } from '#shared/domain/ledger/create-payout';
import { finishPayout, PAYOUT_FINISH_TASK } from '#shared/store/ledger';
import { type SweepTask, sweepOnce } from '#shared/sweeper';

/** Ends the creation of a payout its creator left `creating` (a crash, a timeout): total from its lines, then pending. */
export const payoutFinishTask: SweepTask = {
  name: PAYOUT_FINISH_TASK,
  async handle(item, deps) {
    const total = await finishPayout(deps.store, String(item.id));
    if (total !== undefined) deps.log.warn('payout creation ended by the sweeper', { payoutId: item.id, total });
  },
};

/**
 * Ends at once every payout still being created, instead of PAYOUT_FINISH_AFTER_MS after it was
 * made. Only for a server that is its table's sole writer, starting up (the local server): a
 * payout its earlier run was creating when it died has no creator left. Answers how many ended.
 */
export async function finishAbandonedPayouts(deps: Deps): Promise<number> {
  const atDue = { ...deps, clock: { now: () => deps.clock.now() + PAYOUT_FINISH_AFTER_MS } };
  let ended = 0;
  for (
    let round = await sweepOnce(atDue, [payoutFinishTask]);
    round > 0;
    round = await sweepOnce(atDue, [payoutFinishTask])
  )
    ended += round;
  return ended;
}
