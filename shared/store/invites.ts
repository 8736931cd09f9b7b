import {
  AlreadyInvitedError,
  BindingNotPendingError,
  ExistingCustomerError,
  InviteCodeTakenError,
  InviterHasCodeError,
  MutualInviteError,
  RewardCapReachedError,
} from '../domain/invites/invite.errors.ts';
import type { BindingStatus, InviteBinding, InviteCode } from '../domain/invites/invite.schema.ts';
import {
  firstOrderKey,
  inviteBindingKey,
  inviteBindingPrefix,
  inviteCodeKey,
  inviteRewardCountKey,
  inviterCodeKey,
  invitesByInviterIndex,
  invitesByInviterPk,
  rewardedInviteDayIndex,
  rewardedInviteDayPk,
} from './keys.ts';
import type { Item, Page, Store, TxItem } from './store.ts';

const CODE_FIELDS = [
  'code',
  'campaignId',
  'inviterId',
  'inviterName',
  'inviterDeviceId',
  'createdAt',
  'requestKey',
] as const;

function toCode(item: Item): InviteCode {
  const out: Record<string, unknown> = {};
  for (const f of CODE_FIELDS) if (item[f] !== undefined) out[f] = item[f];
  const more = item.inviterDeviceIds as Set<string> | undefined;
  if (more?.size) out.inviterDeviceIds = [...more];
  return out as unknown as InviteCode;
}

function toBinding(item: Item): InviteBinding {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g1s, gsi2pk: _g2, gsi2sk: _g2s, entity: _e, ...rest } = item;
  return rest as unknown as InviteBinding;
}

/** Get an invite code. */
export async function findInviteCode(store: Store, code: string, consistent = false): Promise<InviteCode | undefined> {
  const item = await store.get(inviteCodeKey(code), consistent);
  return item ? toCode(item) : undefined;
}

/** Get a user's code in a campaign. */
export async function findInviterCode(
  store: Store,
  campaignId: string,
  inviterId: string,
): Promise<InviteCode | undefined> {
  const item = await store.get(inviterCodeKey(campaignId, inviterId), true);
  return item ? toCode(item) : undefined;
}

/**
 * Put a new code and the user's per-campaign code item in one transaction. Throws
 * `InviterHasCodeError` (with the winner) when the user already has one, `InviteCodeTakenError`
 * when the drawn code exists.
 */
export async function insertInviteCode(store: Store, code: InviteCode): Promise<void> {
  await store.transact([
    {
      Put: {
        Item: { ...inviterCodeKey(code.campaignId, code.inviterId), entity: 'inviterCode', ...code },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      onFail: (old) => (old ? new InviterHasCodeError(toCode(old)) : new InviteCodeTakenError()),
    },
    {
      Put: {
        Item: { ...inviteCodeKey(code.code), entity: 'inviteCode', ...code },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      onFail: () => new InviteCodeTakenError(),
    },
  ]);
}

/** The conditional increment of an inviter's rewarded count: fails once `cap` is reached. */
function takeRewardSlot(campaignId: string, inviterId: string, cap: number): TxItem {
  return {
    Update: {
      Key: inviteRewardCountKey(campaignId, inviterId),
      UpdateExpression: 'SET #entity = :entity, campaignId = :campaignId, inviterId = :inviterId ADD #n :one',
      ConditionExpression: 'attribute_not_exists(#n) OR #n < :cap',
      ExpressionAttributeNames: { '#entity': 'entity', '#n': 'count' },
      ExpressionAttributeValues: {
        ':entity': 'inviteRewardCount',
        ':campaignId': campaignId,
        ':inviterId': inviterId,
        ':one': 1,
        ':cap': cap,
      },
    },
    onFail: () => new RewardCapReachedError(),
  };
}

/**
 * Put a binding, first accept wins, in one transaction with its events. With `newCustomerOnly`
 * the invitee's first-order marker must be absent (else `ExistingCustomerError`); with
 * `rewardCap` one of the inviter's rewarded slots is taken (else `RewardCapReachedError`).
 * A binding already there for (campaign, invitee) → 409 `already_invited`. With `notMutual` the
 * inviter must not be bound as the invitee's own invitee (else `MutualInviteError`).
 */
export async function insertBinding(
  store: Store,
  b: InviteBinding,
  opts: { newCustomerOnly: boolean; notMutual: boolean; rewardCap?: number; events: TxItem[] },
): Promise<void> {
  const items: TxItem[] = [
    {
      Put: {
        Item: {
          ...inviteBindingKey(b.campaignId, b.inviteeId),
          ...invitesByInviterIndex(b.campaignId, b.inviterId, b.acceptedAt, b.inviteeId),
          ...(b.rewarded && b.qualifiedAt ? rewardedInviteDayIndex(b.qualifiedAt, b.inviteId) : {}),
          entity: 'inviteBinding',
          ...b,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      onFail: (old) => new AlreadyInvitedError(old as InviteBinding | undefined),
    },
  ];
  if (opts.notMutual)
    items.push({
      ConditionCheck: {
        Key: inviteBindingKey(b.campaignId, b.inviterId),
        ConditionExpression: 'attribute_not_exists(pk) OR inviterId <> :invitee',
        ExpressionAttributeValues: { ':invitee': b.inviteeId },
      },
      onFail: () => new MutualInviteError(),
    });
  if (opts.newCustomerOnly)
    items.push({
      ConditionCheck: { Key: firstOrderKey(b.inviteeId), ConditionExpression: 'attribute_not_exists(pk)' },
      onFail: () => new ExistingCustomerError(),
    });
  if (opts.rewardCap !== undefined) items.push(takeRewardSlot(b.campaignId, b.inviterId, opts.rewardCap));
  await store.transact([...items, ...opts.events]);
}

/** An invitee's bindings still waiting for their first paid order (strongly consistent). */
export async function listPendingBindings(store: Store, inviteeId: string): Promise<InviteBinding[]> {
  const items = await store.queryAll({
    pk: inviteBindingKey('', inviteeId).pk,
    sk: { beginsWith: inviteBindingPrefix },
    consistent: true,
    filter: { expression: '#status = :pending', names: { '#status': 'status' }, values: { ':pending': 'pending' } },
  });
  return items.map(toBinding);
}

/**
 * Move a pending binding to `status` with its events, once: a binding no longer pending throws
 * `BindingNotPendingError`; with `rewardCap` a rewarded slot is taken (else `RewardCapReachedError`).
 */
export async function settleBinding(
  store: Store,
  b: InviteBinding,
  change: {
    status: Exclude<BindingStatus, 'pending'>;
    rewarded: boolean;
    qualifiedAt?: string;
    reason?: string;
    rewardCap?: number;
    events: TxItem[];
  },
): Promise<void> {
  const sets = ['#status = :status', 'rewarded = :rewarded'];
  const values: Record<string, unknown> = {
    ':status': change.status,
    ':rewarded': change.rewarded,
    ':pending': 'pending',
  };
  if (change.qualifiedAt) {
    sets.push('qualifiedAt = :qualifiedAt');
    values[':qualifiedAt'] = change.qualifiedAt;
    if (change.rewarded) {
      const index = rewardedInviteDayIndex(change.qualifiedAt, b.inviteId);
      sets.push('gsi2pk = :gsi2pk', 'gsi2sk = :gsi2sk');
      values[':gsi2pk'] = index.gsi2pk;
      values[':gsi2sk'] = index.gsi2sk;
    }
  }
  if (change.reason) {
    sets.push('reason = :reason');
    values[':reason'] = change.reason;
  }
  const items: TxItem[] = [
    {
      Update: {
        Key: inviteBindingKey(b.campaignId, b.inviteeId),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: '#status = :pending AND inviteId = :inviteId',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ...values, ':inviteId': b.inviteId },
      },
      onFail: () => new BindingNotPendingError(),
    },
  ];
  if (change.rewardCap !== undefined) items.push(takeRewardSlot(b.campaignId, b.inviterId, change.rewardCap));
  await store.transact([...items, ...change.events]);
}

/** The bindings that qualified with a reward on `day` within [from, to], in one shard of the day index. */
export async function listRewardedInvites(
  store: Store,
  day: string,
  shard: number,
  period: { from: string; to: string },
): Promise<InviteBinding[]> {
  return (await store.queryDay(rewardedInviteDayPk(day, shard), period)).map(toBinding);
}

/** A page of an inviter's bindings in a campaign, newest first. */
export async function listBindingsOfInviter(
  store: Store,
  campaignId: string,
  inviterId: string,
  page: { limit: number; cursor?: string | null },
): Promise<Page<InviteBinding>> {
  const r = await store.query({
    index: 'gsi1',
    pk: invitesByInviterPk(campaignId, inviterId),
    limit: page.limit,
    cursor: page.cursor,
    forward: false,
  });
  return { items: r.items.map(toBinding), nextCursor: r.nextCursor };
}

/** Get an invitee's binding in a campaign. */
export async function findBinding(
  store: Store,
  campaignId: string,
  inviteeId: string,
): Promise<InviteBinding | undefined> {
  const item = await store.get(inviteBindingKey(campaignId, inviteeId), true);
  return item ? toBinding(item) : undefined;
}
