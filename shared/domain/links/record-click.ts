import { randomInt } from 'node:crypto';
import { utcDay } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { CLICK_SHARDS } from '../../store/keys.ts';
import { addKolDay } from '../../store/kol.ts';
import { addLinkClicks, type ClickRecord, claimUniqueClick, putClickHistory } from '../../store/links.ts';
import type { Link } from './link.schema.ts';
import { isUniqueClick, UNIQUE_WINDOW_MS } from './visitor.ts';

/** Visitors this instance saw counted recently: their repeat clicks within the window need no database check. */
const RECENT_MAX = 100_000;
const recent = new Map<string, number>();

/**
 * Whether a click is unique: a repeat within 30 minutes of the visitor's counted click on the link
 * is not. A warm instance answers repeats from memory; otherwise the database decides (one
 * conditional put per (link, visitor)), so the answer is the same on every instance.
 */
async function claimUnique(deps: Pick<Deps, 'store'>, code: string, visitorId: string, atMs: number): Promise<boolean> {
  const key = `${deps.store.tableName}#${code}#${visitorId}`;
  const seen = recent.get(key);
  if (seen !== undefined && seen <= atMs && !isUniqueClick(seen, atMs)) return false;
  const claim = await claimUniqueClick(deps.store, code, visitorId, atMs, UNIQUE_WINDOW_MS);
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value as string);
  recent.set(key, claim.countedAt);
  return claim.unique;
}

/** How long an instance keeps writing the same counter shard. */
const SHARD_TURN_MS = 1000;
let turn = { shard: randomInt(CLICK_SHARDS), since: Number.NEGATIVE_INFINITY };

/**
 * The counter shard this instance writes now. Instances (Lambda containers) each take their own
 * at random, which spreads a hot link over the shards; within one instance every click of the
 * moment goes to the same shard, so its ADDs merge into one UpdateItem per round trip. A new
 * shard is drawn every second, so a long-lived server spreads over the shards too.
 */
function counterShard(nowMs: number): number {
  const age = nowMs - turn.since; // a clock that went back also draws a new shard
  if (!(age >= 0 && age < SHARD_TURN_MS)) turn = { shard: randomInt(CLICK_SHARDS), since: nowMs };
  return turn.shard;
}

/** One counted click. */
export interface ClickInput {
  link: Link;
  visitorId: string;
  /** Who the click is unique for, when not `visitorId`: a first visit (no cookie yet) counts once per IP + User-Agent hash. */
  uniqueAs?: string;
  /** The signed-in user, when the redirect carried a valid bearer token. */
  userId?: string;
  deviceHash?: string;
  atMs: number;
}

/**
 * Records a click: the visitor's (and signed-in user's) click history for attribution, so that
 * the newest click of a visitor on any link is their last click; and, once the (link, visitor)
 * claim says whether it is unique, this instance's shard of the link's counters and of the KOL's
 * day (ADDs coalesced per shard). The history needs no claim, so it is put first: from the moment
 * the redirect is answered, an order or action of the visitor can have it written
 * (writePendingHistory). Every write is a single-item write, so a hot link never meets
 * transaction conflicts and no item takes more than 1/16 of its writes.
 */
export async function recordClick(deps: Pick<Deps, 'store'>, click: ClickInput): Promise<{ unique: boolean }> {
  const { link, visitorId, atMs } = click;
  const record: ClickRecord = {
    code: link.code,
    kind: link.kind,
    ownerId: link.ownerId,
    ...(link.campaignId ? { campaignId: link.campaignId } : {}),
    visitorId,
    ...(click.deviceHash ? { deviceHash: click.deviceHash } : {}),
    clickedAtMs: atMs,
    validUntilMs: atMs + link.windowSeconds * 1000,
    ...(link.shareId ? { shareId: link.shareId, objectType: link.objectType, objectId: link.objectId } : {}),
  };
  // Every click goes into the history (batched writes), so the newest click is the last click.
  const history = [putClickHistory(deps.store, `v:${visitorId}`, record)];
  if (click.userId) history.push(putClickHistory(deps.store, `u:${click.userId}`, record));
  const counted = (async () => {
    const [unique] = await Promise.all([
      claimUnique(deps, link.code, click.uniqueAs ?? visitorId, atMs),
      // The new cookie's own window starts with this click, so its next clicks are repeats of it.
      ...(click.uniqueAs ? [claimUnique(deps, link.code, visitorId, atMs)] : []),
    ]);
    const shard = counterShard(atMs);
    const counts: Promise<void>[] = [addLinkClicks(deps.store, link.code, shard, 1, unique ? 1 : 0)];
    if (link.kind === 'kol')
      counts.push(
        addKolDay(deps.store, link.ownerId, shard, utcDay(atMs), { clicks: 1, uniqueVisitors: unique ? 1 : 0 }),
      );
    await Promise.all(counts);
    return unique;
  })();
  const [unique] = await Promise.all([counted, ...history]);
  return { unique };
}
