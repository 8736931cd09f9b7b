import type { SweepTask } from '#shared/sweeper';
import { bargainExpiryTask } from '../bargains/bargain-expiry.ts';
import { ledgerUnlockTask } from '../finance/ledger-unlock.ts';
import { payoutFinishTask } from '../finance/payout-finish.ts';
import { campaignEndTask } from '../group-buys/campaign-end.ts';
import { groupExpiryTask } from '../group-buys/group-expiry.ts';

/** Every sweep task, run by the scheduled sweeper Lambda and by the local runtime's interval. */
export const sweepTasks: SweepTask[] = [
  bargainExpiryTask,
  groupExpiryTask,
  campaignEndTask,
  ledgerUnlockTask,
  payoutFinishTask,
];
