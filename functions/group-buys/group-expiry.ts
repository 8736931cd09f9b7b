import { expireGroup } from '#shared/domain/group-buys/expire-group';
import { GROUP_EXPIRY_TASK } from '#shared/domain/group-buys/group-rules';
import type { SweepTask } from '#shared/sweeper';

/** Closes groups at `expiresAt`: failed, or formed with simulated members (`autoFillOnExpiry`). */
export const groupExpiryTask: SweepTask = {
  name: GROUP_EXPIRY_TASK,
  async handle(item, deps) {
    await expireGroup(deps, item.id as string, { pk: item.pk as string, sk: item.sk as string });
  },
};
