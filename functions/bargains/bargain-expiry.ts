import { expireBargain } from '#shared/domain/bargains/expire-bargain';
import { BARGAIN_EXPIRY_TASK } from '#shared/store/bargains';
import type { SweepTask } from '#shared/sweeper';

/** Sweep task: expires active chains past `expiresAt` (emits `BargainExpired` once, frees the user's slot). */
export const bargainExpiryTask: SweepTask = {
  name: BARGAIN_EXPIRY_TASK,
  handle: async (item, deps) => {
    await expireBargain(deps, String(item.id));
  },
};
