import type { Deps } from '../../deps.ts';
import { NotFoundError } from '../../errors.ts';
import { newId } from '../../ids.ts';
import { findChain } from '../../store/bargains.ts';
import { groupExists } from '../../store/group-buys.ts';
import { findInviteCode } from '../../store/invites.ts';
import { insertShare } from '../../store/shares.ts';
import { putLinkOnce, shortUrl } from '../links/create-link.ts';
import { DEFAULT_WINDOW_SECONDS, type Link } from '../links/link.schema.ts';
import type { CreateShareInput, Share } from './share.schema.ts';
import { shareTargetUrl } from './share-target.ts';

/** The answer to `POST /v1/shares`. */
export interface ShareView {
  shareId: string;
  code: string;
  url: string;
  targetUrl: string;
  objectType: Share['objectType'];
  objectId: string;
  channel: string;
  createdAt: string;
}

const OBJECT_NAMES: Record<Share['objectType'], string> = {
  bargain: 'bargain chain',
  group_buy: 'group buy',
  invite: 'invite code',
  product: 'product',
};

/** Whether the shared object exists; products live in the shop's catalogue, so any well-formed id is taken. */
async function objectExists(deps: Pick<Deps, 'store'>, type: Share['objectType'], id: string): Promise<boolean> {
  switch (type) {
    // Consistent reads: sharing right after starting a chain or opening a group is the usual flow.
    case 'bargain':
      return (await findChain(deps.store, id, true)) !== undefined;
    case 'group_buy':
      return groupExists(deps.store, id);
    case 'invite':
      return (await findInviteCode(deps.store, id, true)) !== undefined;
    case 'product':
      return true;
  }
}

/**
 * Makes a tracked short link to the object's H5 page for the calling user (the share's owner).
 * Each call is a new share (one per channel or post); stats add up over a user's shares of the object.
 */
export async function createShare(
  deps: Deps,
  input: CreateShareInput & { ownerId: string; requestKey?: string },
): Promise<ShareView> {
  if (!(await objectExists(deps, input.objectType, input.objectId)))
    throw new NotFoundError(OBJECT_NAMES[input.objectType]);
  const createdAt = new Date(deps.clock.now()).toISOString();
  const shareId = newId('shr', deps.clock);
  const targetUrl = shareTargetUrl(deps.config.h5BaseUrl, input.objectType, input.objectId);
  // A retry of this request (same Idempotency-Key) whose first attempt made the share finds its link.
  const sameRequest = (l: Link): Share | undefined =>
    l.kind === 'share' &&
    l.shareId &&
    l.ownerId === input.ownerId &&
    l.objectType === input.objectType &&
    l.objectId === input.objectId &&
    l.channel === input.channel
      ? {
          shareId: l.shareId,
          ownerId: l.ownerId,
          objectType: input.objectType,
          objectId: input.objectId,
          channel: input.channel,
          code: l.code,
          createdAt: l.createdAt,
        }
      : undefined;
  const share = await putLinkOnce(
    deps,
    input.requestKey,
    async (code) => {
      const s: Share = {
        shareId,
        ownerId: input.ownerId,
        objectType: input.objectType,
        objectId: input.objectId,
        channel: input.channel,
        code,
        createdAt,
      };
      const link: Link = {
        code,
        kind: 'share',
        ownerId: input.ownerId,
        targetUrl,
        commission: false,
        channel: input.channel,
        windowSeconds: DEFAULT_WINDOW_SECONDS,
        createdAt,
        shareId,
        objectType: input.objectType,
        objectId: input.objectId,
      };
      await insertShare(deps.store, s, link);
      return s;
    },
    sameRequest,
  );
  return {
    shareId: share.shareId,
    code: share.code,
    url: shortUrl(deps, share.code),
    targetUrl,
    objectType: share.objectType,
    objectId: share.objectId,
    channel: share.channel,
    createdAt: share.createdAt,
  };
}
