import type { z } from 'zod';
import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { madeWithinKeyRecord } from '../../http/idempotency.ts';
import { keyedId, newId } from '../../ids.ts';
import { findCampaign, insertCampaign, type StoredCampaign } from '../../store/campaigns.ts';
import type { Campaign, createCampaignSchema } from './campaign.schema.ts';
import { withEffectiveStatus } from './effective-status.ts';

/**
 * Creates a campaign; it is active from creation unless `startsAt` is in the future. With an
 * Idempotency-Key (`requestKey`) its id comes from the key, so a retry whose first attempt made the
 * campaign but lost its answer (a crash, a timeout) answers that campaign instead of making another.
 */
export async function createCampaign(
  deps: Pick<Deps, 'store' | 'clock'>,
  input: z.output<typeof createCampaignSchema>,
  requestKey?: string,
): Promise<Campaign> {
  let id = newId('cmp', deps.clock);
  if (requestKey) {
    const keyed = keyedId('cmp', requestKey);
    const made = await findCampaign(deps.store, keyed, true);
    if (!made) id = keyed;
    // Made by this request's first attempt.
    else if (
      madeWithinKeyRecord(made.createdAt, deps.clock.now()) &&
      made.type === input.type &&
      made.title === input.title
    )
      return withEffectiveStatus(made, deps.clock.now());
  }
  const now = iso(deps.clock.now());
  const campaign = {
    id,
    type: input.type,
    title: input.title,
    status: 'active',
    ...(input.startsAt ? { startsAt: iso(Date.parse(input.startsAt)) } : {}),
    ...(input.endsAt ? { endsAt: iso(Date.parse(input.endsAt)) } : {}),
    rules: input.rules,
    createdAt: now,
    updatedAt: now,
  } as StoredCampaign;
  await insertCampaign(deps.store, campaign);
  return withEffectiveStatus(campaign, deps.clock.now());
}
