import type { z } from 'zod';
import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { newId } from '../../ids.ts';
import { insertCampaign, type StoredCampaign } from '../../store/campaigns.ts';
import type { Campaign, createCampaignSchema } from './campaign.schema.ts';
import { withEffectiveStatus } from './effective-status.ts';

/** Creates a campaign; it is active from creation unless `startsAt` is in the future. */
export async function createCampaign(
  deps: Pick<Deps, 'store' | 'clock'>,
  input: z.output<typeof createCampaignSchema>,
): Promise<Campaign> {
  const now = iso(deps.clock.now());
  const campaign = {
    id: newId('cmp', deps.clock),
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
