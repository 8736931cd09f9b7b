import type { Deps } from '../../deps.ts';
import { CampaignInactiveError, NotFoundError } from '../../errors.ts';
import { randomCode } from '../../ids.ts';
import { findCampaign } from '../../store/campaigns.ts';
import { insertLink, LinkCodeTakenError } from '../../store/links.ts';
import type { CommissionRules } from '../campaigns/campaign.schema.ts';
import { effectiveStatus } from '../campaigns/effective-status.ts';
import { type CreateLinkInput, DEFAULT_WINDOW_SECONDS, type Link } from './link.schema.ts';
import { checkTargetUrl } from './target-url.ts';

/** Length of link codes: 10 characters of a 31-letter alphabet ≈ 49 bits. */
export const LINK_CODE_LENGTH = 10;

/** The answer to `POST /v1/links`. */
export interface LinkView {
  code: string;
  url: string;
  targetUrl: string;
  campaignId?: string;
  channel?: string;
  createdAt: string;
}

/** Public URL of a link's redirect. */
export const shortUrl = (deps: Pick<Deps, 'config'>, code: string) =>
  `${deps.config.PUBLIC_BASE_URL.replace(/\/$/, '')}/s/${code}`;

/** Draws codes until one is free (a collision is rare: the put is conditional, never overwritten). */
export async function putWithFreshCode<T>(attempt: (code: string) => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt(randomCode(LINK_CODE_LENGTH));
    } catch (e) {
      if (!(e instanceof LinkCodeTakenError) || i >= 5) throw e;
    }
  }
}

/**
 * Creates a KOL's promotion link. The target must be allowed (400 `target_not_allowed`); a
 * campaign, when named, must exist (404) and be active (409 `campaign_inactive`); only a
 * commission campaign earns commission, and its attribution window is copied onto the link.
 */
export async function createLink(
  deps: Deps,
  input: CreateLinkInput & { ownerId: string; ownerDeviceHash?: string; ownerVisitorId?: string },
): Promise<LinkView> {
  const targetUrl = checkTargetUrl(input.targetUrl, deps.config.ALLOWED_REDIRECT_HOSTS);
  let windowSeconds = DEFAULT_WINDOW_SECONDS;
  let commission = false;
  if (input.campaignId) {
    const campaign = await findCampaign(deps.store, input.campaignId);
    if (!campaign) throw new NotFoundError('campaign');
    if (effectiveStatus(campaign, deps.clock.now()) !== 'active') throw new CampaignInactiveError();
    if (campaign.type === 'commission') {
      commission = true;
      windowSeconds = (campaign.rules as CommissionRules).attributionWindowSeconds;
    }
  }
  const createdAt = new Date(deps.clock.now()).toISOString();
  const link = await putWithFreshCode(async (code) => {
    const l: Link = {
      code,
      kind: 'kol',
      ownerId: input.ownerId,
      targetUrl,
      ...(input.campaignId ? { campaignId: input.campaignId } : {}),
      commission,
      ...(input.channel ? { channel: input.channel } : {}),
      windowSeconds,
      createdAt,
      ...(input.ownerDeviceHash ? { ownerDeviceHash: input.ownerDeviceHash } : {}),
      ...(input.ownerVisitorId ? { ownerVisitorId: input.ownerVisitorId } : {}),
    };
    await insertLink(deps.store, l);
    return l;
  });
  return {
    code: link.code,
    url: shortUrl(deps, link.code),
    targetUrl: link.targetUrl,
    ...(link.campaignId ? { campaignId: link.campaignId } : {}),
    ...(link.channel ? { channel: link.channel } : {}),
    createdAt: link.createdAt,
  };
}
