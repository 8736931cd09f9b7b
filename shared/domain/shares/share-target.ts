import type { ShareObjectType } from '../links/link.schema.ts';

const PATHS: Record<ShareObjectType, string> = {
  bargain: 'bargains',
  group_buy: 'group-buys',
  invite: 'invites',
  product: 'products',
};

/** The H5 page of a shared object: `<H5_BASE_URL>/bargains/<id>`, `/group-buys/<id>`, `/invites/<code>`, `/products/<id>`. */
export function shareTargetUrl(h5BaseUrl: string, objectType: ShareObjectType, objectId: string): string {
  return `${h5BaseUrl.replace(/\/$/, '')}/${PATHS[objectType]}/${encodeURIComponent(objectId)}`;
}

/** Whether a share of (type, id) is what an action on `objectIds` of `actionType` acted on. */
export function shareMatches(
  share: { objectType?: string; objectId?: string },
  actionType: ShareObjectType,
  objectIds: readonly string[],
): boolean {
  return share.objectType === actionType && share.objectId !== undefined && objectIds.includes(share.objectId);
}
