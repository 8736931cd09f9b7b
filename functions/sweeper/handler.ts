import { createDeps } from '#shared/deps';
import { loadSecrets } from '#shared/secrets';
import { sweepOnce } from '#shared/sweeper';
import { sweepTasks } from './tasks.ts';

const deps = createDeps({ env: await loadSecrets() });

// Scheduled by EventBridge Scheduler: expire chains and groups, unlock ledger entries that came due.
export const handler = async (): Promise<{ handled: number }> => {
  let handled = 0;
  for (let round = 0; round < 20; round++) {
    const n = await sweepOnce(deps, sweepTasks);
    handled += n;
    if (n === 0) break;
  }
  return { handled };
};
