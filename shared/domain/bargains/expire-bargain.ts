import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { outboxPut } from '../../events/outbox.ts';
import { expireChain, findChain, leaveDueIndex, releaseLock } from '../../store/bargains.ts';
import { ChainMovedError } from './rules.ts';

/**
 * The sweeper's visit to a chain that came due: an active chain past `expiresAt` becomes
 * `expired` with `BargainExpired` in the same transaction, conditional on the state read, so
 * racing sweeps, helps and purchases leave exactly one outcome and one event. Then the
 * initiator's lock is released. A chain that ended otherwise just leaves the due index.
 */
export async function expireBargain(deps: Deps, chainId: string): Promise<boolean> {
  const { store, clock } = deps;
  let chain = await findChain(store, chainId, true);
  for (let attempt = 0; attempt < 10 && chain; attempt++) {
    const now = clock.now();
    if (chain.status !== 'active') {
      await leaveDueIndex(store, chain.id);
      return false;
    }
    if (Date.parse(chain.expiresAt) > now) return false;
    const expired = outboxPut(
      'BargainExpired',
      {
        chainId: chain.id,
        campaignId: chain.campaignId,
        initiatorId: chain.initiatorId,
        price: chain.price,
        helperCount: chain.helperCount,
      },
      clock,
    );
    try {
      await expireChain(store, chain, iso(now), [expired]);
      await releaseLock(store, chain);
      return true;
    } catch (e) {
      if (!(e instanceof ChainMovedError)) throw e;
      chain = e.chain ?? (await findChain(store, chainId, true));
    }
  }
  if (!chain) await leaveDueIndex(store, chainId);
  return false;
}
