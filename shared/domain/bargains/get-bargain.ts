import type { Deps } from '../../deps.ts';
import { NotFoundError } from '../../errors.ts';
import { findChainWithHelps } from '../../store/bargains.ts';
import type { BargainView, HelperView } from './bargain.schema.ts';
import { helperViews, toView } from './rules.ts';

/** A chain with its helpers, for any signed-in user; helper user ids only for the initiator. */
export async function getBargain(
  deps: Deps,
  input: { chainId: string; viewerId: string },
): Promise<BargainView & { helpers: HelperView[] }> {
  const found = await findChainWithHelps(deps.store, input.chainId);
  if (!found) throw new NotFoundError('bargain chain');
  const isInitiator = found.chain.initiatorId === input.viewerId;
  return {
    ...toView(found.chain, deps.config.h5BaseUrl, input.viewerId, deps.clock.now()),
    helpers: helperViews(found.helps, isInitiator),
  };
}
