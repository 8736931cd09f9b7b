import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { BusyError } from '../../errors.ts';
import { outboxPut } from '../../events/outbox.ts';
import { madeWithinKeyRecord } from '../../http/idempotency.ts';
import { digestOf, newId } from '../../ids.ts';
import { findChain, findLock, insertChain } from '../../store/bargains.ts';
import { expiresWithinCampaign } from '../campaigns/effective-status.ts';
import { requireActiveCampaign } from '../campaigns/require-active-campaign.ts';
import type { BargainChain, BargainView, StartBargainInput } from './bargain.schema.ts';
import { cutSchedule } from './cut-schedule.ts';
import { ChainMovedError, effectiveStatus, entitlementIdFor, toView } from './rules.ts';

/**
 * Starts a chain for the user in a bargain campaign, or answers the one they already have
 * active there (`created: false`). The cut schedule is decided here, seeded by the chain id.
 */
export async function startBargain(
  deps: Deps,
  input: StartBargainInput & { userId: string; requestKey?: string },
): Promise<{ chain: BargainView; created: boolean }> {
  const { store, clock } = deps;
  // With an Idempotency-Key the chain's id comes from it, as a payout's does: a retry of the start
  // that made it (its answer lost) answers that chain, whatever became of it since (helped to
  // completion, bought, expired, or its campaign paused). A key used again after its record is a
  // new request, with a new id.
  const keyedId = input.requestKey ? `brg_${digestOf('bargain', input.requestKey)}` : undefined;
  const madeByKey = keyedId ? await findChain(store, keyedId, true) : undefined;
  if (madeByKey?.initiatorId === input.userId && madeWithinKeyRecord(madeByKey.createdAt, clock.now()))
    return { chain: toView(madeByKey, deps.config.h5BaseUrl, input.userId, clock.now()), created: true };
  const campaign = await requireActiveCampaign(deps, input.campaignId, 'bargain');
  const rules = campaign.rules;
  for (let attempt = 0; attempt < 5; attempt++) {
    const now = clock.now();
    const view = (c: BargainChain) => toView(c, deps.config.h5BaseUrl, input.userId, now);
    const lock = await findLock(store, campaign.id, input.userId);
    let staleChainId: string | undefined;
    if (lock && Date.parse(lock.expiresAt) > now) {
      const held = await findChain(store, lock.chainId, true);
      if (held && effectiveStatus(held, now) === 'active') return { chain: view(held), created: false };
      staleChainId = lock.chainId;
    }
    const id = keyedId && !madeByKey ? keyedId : newId('brg', clock);
    const nowIso = iso(now);
    const chain: BargainChain = {
      id,
      campaignId: campaign.id,
      initiatorId: input.userId,
      status: 'active',
      sku: rules.sku,
      originalPrice: rules.originalPrice,
      floorPrice: rules.floorPrice,
      price: rules.originalPrice,
      helpersRequired: rules.helpersRequired,
      helperCount: 0,
      maxHelpsPerUserPerDay: rules.maxHelpsPerUserPerDay,
      allowBuyAtCurrentPrice: rules.allowBuyAtCurrentPrice,
      newUserBonus: rules.newUserBonus,
      ...(rules.stock !== undefined ? { stock: rules.stock } : {}),
      entitlementId: entitlementIdFor(id),
      expiresAt: expiresWithinCampaign(now, rules.durationSeconds, campaign.endsAt),
      createdAt: nowIso,
      updatedAt: nowIso,
    };
    const started = outboxPut(
      'BargainStarted',
      {
        chainId: id,
        campaignId: campaign.id,
        initiatorId: input.userId,
        sku: chain.sku,
        originalPrice: chain.originalPrice,
        floorPrice: chain.floorPrice,
        helpersRequired: chain.helpersRequired,
        expiresAt: chain.expiresAt,
      },
      clock,
    );
    try {
      const schedule = cutSchedule(rules.originalPrice - rules.floorPrice, rules.helpersRequired, id);
      await insertChain(store, chain, schedule, nowIso, [started], staleChainId);
      return { chain: view(chain), created: true };
    } catch (e) {
      if (!(e instanceof ChainMovedError)) throw e;
    }
  }
  throw new BusyError('Another start of a chain in this campaign is in progress; try again.');
}
