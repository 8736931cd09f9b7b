import type { Deps } from '../../deps.ts';
import { type ClickRecord, findLink, queryClickHistory } from '../../store/links.ts';
import { addShareConversion } from '../../store/shares.ts';
import { tokenInWindow, verifyAttributionToken } from '../links/attribution-token.ts';
import type { ShareObjectType } from '../links/link.schema.ts';
import { shareMatches } from './share-target.ts';

/** An action (help, join, invite acceptance) that may follow a share link. */
export interface ShareAction {
  actorId: string;
  objectType: ShareObjectType;
  /** Ids the action's object is known by (chain id; group id; invite code, invite id, campaign id). */
  objectIds: string[];
  via?: { visitorId?: string; ref?: string };
  atMs: number;
}

interface ShareRef {
  shareId: string;
  ownerId: string;
  objectType: string;
  objectId: string;
}

/**
 * Counts the action as a conversion of the share it came through: the share named by a valid,
 * unexpired `ref` token, else the visitor's newest click on a share link of this object inside
 * its window. The sharer acting on their own share does not count; each (share, user) counts once.
 */
export async function countShareConversion(
  deps: Pick<Deps, 'store' | 'config'>,
  action: ShareAction,
): Promise<boolean> {
  const share = await findShare(deps, action);
  if (!share || share.ownerId === action.actorId) return false;
  return addShareConversion(deps.store, share, action.actorId, new Date(action.atMs).toISOString());
}

async function findShare(deps: Pick<Deps, 'store' | 'config'>, action: ShareAction): Promise<ShareRef | undefined> {
  const claims = verifyAttributionToken(deps.config.attributionSecret, action.via?.ref);
  if (claims) {
    const link = await findLink(deps.store, claims.code);
    if (
      link?.kind === 'share' &&
      link.shareId &&
      tokenInWindow(claims, link.windowSeconds, action.atMs) &&
      shareMatches(link, action.objectType, action.objectIds)
    )
      return { shareId: link.shareId, ownerId: link.ownerId, objectType: link.objectType!, objectId: link.objectId! };
  }
  const visitorId = action.via?.visitorId;
  if (!visitorId) return undefined;
  const { items: clicks } = await queryClickHistory(
    deps.store,
    `v:${visitorId}`,
    { fromMs: action.atMs - 366 * 86_400_000, toMs: action.atMs, validAtMs: action.atMs },
    { forward: false, kind: 'share', maxItems: 1000 },
  );
  const hit = clicks.find(
    (c: ClickRecord) => c.kind === 'share' && c.shareId && shareMatches(c, action.objectType, action.objectIds),
  );
  return hit
    ? { shareId: hit.shareId!, ownerId: hit.ownerId, objectType: hit.objectType!, objectId: hit.objectId! }
    : undefined;
}
