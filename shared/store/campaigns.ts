import type { Campaign, CampaignType } from '../domain/campaigns/campaign.schema.ts';
import { BusyError, ConflictError, NotFoundError } from '../errors.ts';
import { campaignByTypeIndex, campaignKey } from './keys.ts';
import type { Store } from './store.ts';

/** What an admin sets (PATCH): a campaign is created `active`. */
export type ManualStatus = 'active' | 'paused' | 'ended';

/**
 * The stored campaign: `status` is what admins set; the effective status also depends on time.
 * `statusChanges` records each PATCH with its time, so the status at a past moment (an order's
 * `paidAt`) can be told; campaigns changed before it was kept have none.
 */
export type StoredCampaign = Omit<Campaign, 'status'> & {
  status: ManualStatus;
  statusChanges?: { status: ManualStatus; at: string }[];
};

/** Put a new campaign. */
export async function insertCampaign(store: Store, c: StoredCampaign): Promise<void> {
  await store.put(
    { ...campaignKey(c.id), ...campaignByTypeIndex(c.type, c.createdAt, c.id), entity: 'campaign', ...c },
    { condition: 'attribute_not_exists(pk)' },
  );
}

/** Get a campaign by id. */
export async function findCampaign(store: Store, id: string, consistent = false): Promise<StoredCampaign | undefined> {
  const item = await store.get<StoredCampaign & Record<string, unknown>>(campaignKey(id), consistent);
  return item ? toCampaign(item) : undefined;
}

/** Status changes kept per campaign at most: past this the oldest half is dropped (they are years old by then). */
const MAX_STATUS_CHANGES = 500;

/** The status asked for is the one already set: nothing to write. */
class UnchangedError extends Error {
  constructor(readonly campaign: StoredCampaign) {
    super('unchanged');
  }
}

/**
 * Set a campaign's status, recording the change with its time; an ended campaign stays ended.
 * Setting the status it already has writes nothing (a repeat of `ended`, a double click). Changes
 * are stamped in the order they are written: one whose time is before the last change's (two
 * PATCHes at once, written in the other order; clocks of instances a little apart) is stamped
 * with the last change's time instead, so the newest change in the log is always the status set.
 */
export async function setCampaignStatus(
  store: Store,
  id: string,
  status: StoredCampaign['status'],
  nowIso: string,
): Promise<StoredCampaign> {
  let stamp = nowIso;
  for (let attempt = 0; ; attempt++) {
    try {
      const item = await store.update<StoredCampaign & Record<string, unknown>>({
        key: campaignKey(id),
        update:
          'SET #status = :status, updatedAt = :now, statusChanges = list_append(if_not_exists(statusChanges, :none), :change)',
        // Ended (by PATCH or by its endsAt passing) is final: only `ended` may be set again.
        condition:
          'attribute_exists(pk) AND #status <> :status AND (:status = :ended OR (#status <> :ended AND (attribute_not_exists(endsAt) OR endsAt > :now))) AND updatedAt <= :now AND (attribute_not_exists(statusChanges) OR size(statusChanges) < :max)',
        names: { '#status': 'status' },
        values: {
          ':status': status,
          ':now': stamp,
          ':ended': 'ended',
          ':none': [],
          ':change': [{ status, at: stamp }],
          ':max': MAX_STATUS_CHANGES,
        },
        onFail: (old) => {
          if (!old) return new NotFoundError('campaign');
          const c = toCampaign(old as StoredCampaign & Record<string, unknown>);
          const allowed = status === 'ended' || (c.status !== 'ended' && (!c.endsAt || c.endsAt > stamp));
          if (!allowed) return new ConflictError('conflict', 'An ended campaign cannot be reopened or paused.');
          if (c.status === status) return new UnchangedError(c);
          if (c.updatedAt > stamp) return new StampedLaterError(c.updatedAt);
          return new LogFullError(c);
        },
      });
      return toCampaign(item);
    } catch (e) {
      if (e instanceof UnchangedError) return e.campaign;
      if (!(e instanceof StampedLaterError || e instanceof LogFullError)) throw e;
      if (attempt >= 3) throw new BusyError('The campaign changed meanwhile: try again.');
      if (e instanceof StampedLaterError) {
        stamp = e.at;
        continue;
      }
      // Drop the older half of a full change log, then try again.
      await store
        .update({
          key: campaignKey(id),
          update: 'SET statusChanges = :kept',
          condition: 'updatedAt = :seen',
          values: {
            ':kept': (e.campaign.statusChanges ?? []).slice(-MAX_STATUS_CHANGES / 2),
            ':seen': e.campaign.updatedAt,
          },
          onFail: () => new BusyError('The campaign changed meanwhile: try again.'),
        })
        .catch((err) => {
          if (!(err instanceof ConflictError)) throw err;
        });
    }
  }
}

/** The last change was stamped after this one's time: stamp it `at` instead, so the log keeps the order of writes. */
class StampedLaterError extends Error {
  constructor(readonly at: string) {
    super('stamped later');
  }
}

/** The change log is full: the older half is dropped before the change is recorded. */
class LogFullError extends Error {
  constructor(readonly campaign: StoredCampaign) {
    super('status log full');
  }
}

function toCampaign<T extends CampaignType>(item: StoredCampaign & Record<string, unknown>): StoredCampaign {
  const { id, type, title, status, startsAt, endsAt, rules, createdAt, updatedAt, statusChanges } = item;
  return {
    id,
    type: type as T,
    title,
    status,
    ...(startsAt ? { startsAt } : {}),
    ...(endsAt ? { endsAt } : {}),
    rules,
    createdAt,
    updatedAt,
    ...(statusChanges?.length ? { statusChanges } : {}),
  };
}
