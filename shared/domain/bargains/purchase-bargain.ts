import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { BusyError, NotFoundError } from '../../errors.ts';
import { outboxPut } from '../../events/outbox.ts';
import { madeByRequest } from '../../http/idempotency.ts';
import { findChain, purchaseActive, purchaseCompleted } from '../../store/bargains.ts';
import { requireActiveCampaign } from '../campaigns/require-active-campaign.ts';
import type { BargainChain, PurchaseResult } from './bargain.schema.ts';
import { ChainMovedError, effectiveStatus, NotPurchasableError, OutOfStockError } from './rules.ts';

/**
 * The initiator buys their chain: a completed chain at the floor, or an active one at its current
 * price when the campaign allows it. Purchase happens once; a repeat answers the same entitlement
 * (`created: false`). Anyone else gets 404, as if the chain did not exist.
 */
export async function purchaseBargain(
  deps: Deps,
  input: { chainId: string; userId: string; requestKey?: string },
): Promise<{ result: PurchaseResult; created: boolean }> {
  const { store, clock } = deps;
  let chain = await findChain(store, input.chainId, true);
  // A try fails only when the chain moved since it was read (a help landed, or it completed), and
  // a chain moves at most `helpersRequired` times plus its status changes: on a busy chain the
  // purchase keeps up with the helps until it lands or the chain is no longer purchasable.
  const maxAttempts = (chain?.helpersRequired ?? 0) + 3;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if (!chain || chain.initiatorId !== input.userId) throw new NotFoundError('bargain chain');
    const c: BargainChain = chain;
    const result = { entitlementId: c.entitlementId, price: c.price, chainId: c.id };
    // A repeat answers 200; a retry with the key of the purchase that landed (its answer lost), 201.
    if (c.status === 'purchased')
      return {
        result,
        created: madeByRequest(c.purchaseKey, c.purchasedAt ?? c.updatedAt, input.requestKey, clock.now()),
      };
    const now = clock.now();
    const purchased = outboxPut(
      'BargainPurchased',
      {
        chainId: c.id,
        campaignId: c.campaignId,
        initiatorId: c.initiatorId,
        sku: c.sku,
        price: c.price,
        entitlementId: c.entitlementId,
      },
      clock,
    );
    try {
      if (c.status === 'completed') {
        await requireActiveCampaign(deps, c.campaignId, 'bargain');
        await purchaseCompleted(store, c, iso(now), [purchased], input.requestKey);
        return { result, created: true };
      }
      if (effectiveStatus(c, now) !== 'active')
        throw new NotPurchasableError('The chain expired before it was bought.');
      if (!c.allowBuyAtCurrentPrice)
        throw new NotPurchasableError(
          'The chain has not reached its floor price, and this campaign sells only at the floor.',
        );
      await requireActiveCampaign(deps, c.campaignId, 'bargain');
      await purchaseActive(store, c, iso(now), [purchased], input.requestKey);
      return { result, created: true };
    } catch (e) {
      if (e instanceof OutOfStockError) throw new NotPurchasableError("The campaign's stock is used up.");
      if (!(e instanceof ChainMovedError)) throw e;
      chain = e.chain ?? (await findChain(store, input.chainId, true));
    }
  }
  throw new BusyError('The chain is changing right now; try again.');
}
