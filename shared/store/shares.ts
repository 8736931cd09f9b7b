import type { Link } from '../domain/links/link.schema.ts';
import type { Share } from '../domain/shares/share.schema.ts';
import { deltaUpdateTx } from './group-commit.ts';
import { shareConversionKey, shareKey, shareObjectPk, shareStatsKey } from './keys.ts';
import { insertLinkTx } from './links.ts';
import type { Store } from './store.ts';

/** The share of one object by one user already counted this acting user. */
export class ConversionCountedError extends Error {}

/** Puts a share, its tracked link and +1 on the object's share count, in one transaction. */
export async function insertShare(store: Store, share: Share, link: Link): Promise<void> {
  await store.transact([
    insertLinkTx(link),
    {
      Put: {
        Item: {
          ...shareKey(share.ownerId, share.objectType, share.objectId, share.shareId),
          entity: 'share',
          ...share,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    shareStatsTx(share, { shares: 1 }),
  ]);
}

/** A user's shares of one object, and its stats item (shares, conversions). */
export async function findSharesOfObject(
  store: Store,
  ownerId: string,
  objectType: string,
  objectId: string,
): Promise<{ shares: Share[]; stats?: { shares?: number; conversions?: number } }> {
  const items = await store.queryAll<Record<string, unknown>>({ pk: shareObjectPk(ownerId, objectType, objectId) });
  return {
    shares: items.filter((i) => i.entity === 'share') as unknown as Share[],
    stats: items.find((i) => i.entity === 'share_stats') as { shares?: number; conversions?: number } | undefined,
  };
}

/**
 * Counts one conversion of a share by one acting user: the (owner, object, user) marker is put
 * with attribute_not_exists in the same transaction as +1, so however often the event comes, and
 * through however many of the owner's shares of the object the user came, it counts once.
 */
export async function addShareConversion(
  store: Store,
  share: { shareId: string; ownerId: string; objectType: string; objectId: string },
  userId: string,
  nowIso: string,
): Promise<boolean> {
  try {
    await store.transact([
      {
        Put: {
          Item: {
            ...shareConversionKey(share.ownerId, share.objectType, share.objectId, userId),
            entity: 'share_conversion',
            ...share,
            userId,
            at: nowIso,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
        onFail: () => new ConversionCountedError(),
      },
      shareStatsTx(share, { conversions: 1 }),
    ]);
    return true;
  } catch (e) {
    if (e instanceof ConversionCountedError) return false;
    throw e;
  }
}

/** An addition to an object's share stats; a group commit merges those of one object (deltaUpdateTx). */
const shareStatsTx = (share: { ownerId: string; objectType: string; objectId: string }, add: Record<string, number>) =>
  deltaUpdateTx(shareStatsKey(share.ownerId, share.objectType, share.objectId), {
    set: { entity: 'share_stats' },
    add,
  });
