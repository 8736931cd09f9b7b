import type { Deps } from '../../deps.ts';
import { listLinksByOwner, readLinkCounts } from '../../store/links.ts';
import type { Page } from '../../store/store.ts';
import { shortUrl } from './create-link.ts';

/** One row of `GET /v1/kol/links`. */
export interface KolLinkRow {
  code: string;
  url: string;
  targetUrl: string;
  campaignId?: string;
  channel?: string;
  clicks: number;
  uniqueClicks: number;
  createdAt: string;
}

/** A KOL's links, newest first, each with its click totals summed from the counter shards. */
export async function listKolLinks(
  deps: Pick<Deps, 'store' | 'config'>,
  input: { ownerId: string; limit: number; cursor?: string },
): Promise<Page<KolLinkRow>> {
  const page = await listLinksByOwner(deps.store, input.ownerId, input.limit, input.cursor);
  const counts = await readLinkCounts(
    deps.store,
    page.items.map((l) => l.code),
  );
  return {
    items: page.items.map((l) => ({
      code: l.code,
      url: shortUrl(deps, l.code),
      targetUrl: l.targetUrl,
      ...(l.campaignId ? { campaignId: l.campaignId } : {}),
      ...(l.channel ? { channel: l.channel } : {}),
      clicks: counts.get(l.code)?.clicks ?? 0,
      uniqueClicks: counts.get(l.code)?.uniqueClicks ?? 0,
      createdAt: l.createdAt,
    })),
    nextCursor: page.nextCursor,
  };
}
