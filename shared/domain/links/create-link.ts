import type { Deps } from '../../deps.ts';
import { CampaignInactiveError, NotFoundError } from '../../errors.ts';
import { madeWithinKeyRecord } from '../../http/idempotency.ts';
import { keyedCode, randomCode } from '../../ids.ts';
import { findCampaign } from '../../store/campaigns.ts';
import { findLink, insertLink, LinkCodeTakenError } from '../../store/links.ts';
import { rememberUserDevices } from '../../store/user-devices.ts';
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
async function putWithFreshCode<T>(attempt: (code: string) => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt(randomCode(LINK_CODE_LENGTH));
    } catch (e) {
      if (!(e instanceof LinkCodeTakenError) || i >= 5) throw e;
    }
  }
}

/**
 * Puts a new link once per request: with an Idempotency-Key (`requestKey`) first under the code
 * that key derives, so a retry whose first attempt made the link but lost its answer (a crash, a
 * timeout) finds that link and answers it (`ours` says whether the link there is this request's,
 * and answers it); without one, or when the code is another link's, under fresh random codes.
 */
export async function putLinkOnce<T>(
  deps: Pick<Deps, 'store' | 'config' | 'clock'>,
  requestKey: string | undefined,
  attempt: (code: string) => Promise<T>,
  ours: (existing: Link) => T | undefined,
): Promise<T> {
  if (requestKey) {
    const code = keyedCode(deps.config.attributionSecret, requestKey, LINK_CODE_LENGTH);
    try {
      return await attempt(code);
    } catch (e) {
      if (!(e instanceof LinkCodeTakenError)) throw e;
      const existing = await findLink(deps.store, code, true);
      const answer = existing && madeWithinKeyRecord(existing.createdAt, deps.clock.now()) ? ours(existing) : undefined;
      if (answer !== undefined) return answer;
    }
  }
  return putWithFreshCode(attempt);
}

/**
 * Creates a KOL's promotion link. The target must be allowed (400 `target_not_allowed`); a
 * campaign, when named, must exist (404) and be active (409 `campaign_inactive`); only a
 * commission campaign earns commission, and its attribution window is copied onto the link.
 */
export async function createLink(
  deps: Deps,
  input: CreateLinkInput & { ownerId: string; ownerDeviceHash?: string; ownerVisitorId?: string; requestKey?: string },
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
  // The KOL's device and visitor hold orders from them on any of the KOL's links, this one or another.
  await rememberUserDevices(deps.store, input.ownerId, {
    devices: [input.ownerDeviceHash],
    visitors: [input.ownerVisitorId],
  });
  const createdAt = new Date(deps.clock.now()).toISOString();
  const sameRequest = (l: Link) =>
    l.kind === 'kol' &&
    l.ownerId === input.ownerId &&
    l.targetUrl === targetUrl &&
    l.campaignId === input.campaignId &&
    l.channel === input.channel
      ? l
      : undefined;
  const link = await putLinkOnce(
    deps,
    input.requestKey,
    async (code) => {
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
    },
    sameRequest,
  );
  return {
    code: link.code,
    url: shortUrl(deps, link.code),
    targetUrl: link.targetUrl,
    ...(link.campaignId ? { campaignId: link.campaignId } : {}),
    ...(link.channel ? { channel: link.channel } : {}),
    createdAt: link.createdAt,
  };
}
