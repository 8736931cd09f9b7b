import type { Deps } from '../../deps.ts';
import { NotFoundError } from '../../errors.ts';
import { readLinkCounts } from '../../store/links.ts';
import { findSharesOfObject } from '../../store/shares.ts';

/** `GET /v1/shares/stats`. */
export interface ShareStats {
  shares: number;
  clicks: number;
  uniqueVisitors: number;
  conversions: number;
}

/**
 * The caller's shares of an object, summed: clicks and distinct visitors (each counted on the share
 * link of their first click) of every share link, and conversions. An object the caller never shared → 404.
 */
export async function getShareStats(
  deps: Pick<Deps, 'store'>,
  input: { ownerId: string; objectType: string; objectId: string },
): Promise<ShareStats> {
  const { shares, stats } = await findSharesOfObject(deps.store, input.ownerId, input.objectType, input.objectId);
  if (shares.length === 0) throw new NotFoundError('share');
  const counts = await readLinkCounts(
    deps.store,
    shares.map((s) => s.code),
  );
  let clicks = 0;
  let uniqueVisitors = 0;
  for (const c of counts.values()) {
    clicks += c.clicks;
    uniqueVisitors += c.newVisitors;
  }
  return { shares: stats?.shares ?? shares.length, clicks, uniqueVisitors, conversions: stats?.conversions ?? 0 };
}
