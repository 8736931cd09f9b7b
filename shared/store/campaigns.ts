import type { Campaign, CampaignType } from '../domain/campaigns/campaign.schema.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
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

/** Set a campaign's status; an ended campaign stays ended. */
export async function setCampaignStatus(
  store: Store,
  id: string,
  status: StoredCampaign['status'],
  nowIso: string,
): Promise<StoredCampaign> {
  const item = await store.update<StoredCampaign & Record<string, unknown>>({
    key: campaignKey(id),
    update:
      'SET #status = :status, updatedAt = :now, statusChanges = list_append(if_not_exists(statusChanges, :none), :change)',
    // Ended (by PATCH or by its endsAt passing) is final: only `ended` may be set again.
    condition:
      'attribute_exists(pk) AND (:status = :ended OR (#status <> :ended AND (attribute_not_exists(endsAt) OR endsAt > :now)))',
    names: { '#status': 'status' },
    values: { ':status': status, ':now': nowIso, ':ended': 'ended', ':none': [], ':change': [{ status, at: nowIso }] },
    onFail: (old) =>
      old
        ? new ConflictError('conflict', 'An ended campaign cannot be reopened or paused.')
        : new NotFoundError('campaign'),
  });
  return toCampaign(item);
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
