import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GroupBuy, RosterEntry } from '#shared/domain/group-buys/group-buy.schema';
import {
  AlreadyMemberError,
  effectiveStatus,
  formedMembers,
  GroupClosedError,
  GroupFullError,
  joinRefusal,
  memberPrice,
  pageOf,
  refundsOf,
  StaleGroupError,
  simulatedFill,
  viewOf,
} from '#shared/domain/group-buys/group-rules';
import { groupBuyOpenIndex } from '#shared/store/keys';

const T0 = Date.parse('2026-11-24T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function group(over: Partial<GroupBuy> = {}, members = 1): GroupBuy {
  const roster: Record<string, RosterEntry> = {};
  for (let i = 0; i < members; i++)
    roster[`user-${i}`] = {
      orderId: `order-${i}`,
      displayName: `N${'x'.repeat(i)}`,
      joinedAt: at(i),
      seq: i + 1,
      isLeader: i === 0,
      price: i === 0 ? 800 : 900,
    };
  return {
    id: 'grp_1',
    campaignId: 'cmp_1',
    leaderId: 'user-0',
    leaderOrderId: 'order-0',
    sku: 'sku',
    originalPrice: 1000,
    groupPrice: 900,
    leaderPrice: 800,
    groupSize: 4,
    autoFillOnExpiry: false,
    status: 'open',
    memberCount: members,
    roster,
    expiresAt: at(600),
    createdAt: at(0),
    updatedAt: at(0),
    rev: members,
    ...over,
  };
}

describe('Function: effectiveStatus', () => {
  it('reads an open group past expiresAt as failed, or formed with autoFillOnExpiry, at once', () => {
    expect(effectiveStatus(group(), T0 + 599_999)).toBe('open');
    expect(effectiveStatus(group(), T0 + 600_000)).toBe('failed');
    expect(effectiveStatus(group({ autoFillOnExpiry: true }), T0 + 600_000)).toBe('formed');
    expect(effectiveStatus(group({ status: 'formed' }), T0 + 9e9)).toBe('formed');
  });
});

describe('Function: memberPrice', () => {
  it('charges the leader leaderPrice where set and everyone else groupPrice', () => {
    expect(memberPrice({ groupPrice: 900, leaderPrice: 800 }, true)).toBe(800);
    expect(memberPrice({ groupPrice: 900, leaderPrice: 800 }, false)).toBe(900);
    expect(memberPrice({ groupPrice: 900 }, true)).toBe(900);
  });
});

describe('Function: simulatedFill and formedMembers', () => {
  it('fills exactly the open slots, and the Formed members are every real order plus flagged simulated ones', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 50 }), fc.nat(), (size, k) => {
        const members = 1 + (k % size);
        const g = group({ groupSize: size }, members);
        const sim = simulatedFill(g, g.expiresAt);
        expect(members + sim.length).toBe(size);
        const formed = formedMembers(g, sim);
        expect(formed).toHaveLength(size);
        expect(formed.filter((m) => m.isLeader)).toEqual([
          { userId: 'user-0', orderId: 'order-0', price: 800, isLeader: true, simulated: false },
        ]);
        expect(formed.filter((m) => m.simulated).every((m) => m.orderId === null && m.price === 900)).toBe(true);
        expect(formed.filter((m) => !m.simulated).map((m) => m.orderId)).toEqual(
          Array.from({ length: members }, (_, i) => `order-${i}`),
        );
      }),
    );
  });
});

describe('Function: refundsOf', () => {
  it('lists every real order, leaving out the one already refunded', () => {
    const g = group({}, 3);
    expect(refundsOf(g).map((r) => r.orderId)).toEqual(['order-0', 'order-1', 'order-2']);
    expect(refundsOf(g, 'order-0').map((r) => r.orderId)).toEqual(['order-1', 'order-2']);
  });
});

describe('Function: joinRefusal', () => {
  it('tells a member, a lost last slot, a closed group and a merely changed group apart', () => {
    const now = T0 + 1000;
    expect(joinRefusal(group({}, 2), 'user-1', now)).toBeInstanceOf(AlreadyMemberError);
    expect(joinRefusal(group({ status: 'formed' }, 4), 'new', now)).toBeInstanceOf(GroupFullError);
    expect(joinRefusal(group({ status: 'failed' }, 2), 'new', now)).toBeInstanceOf(GroupClosedError);
    expect(joinRefusal(group({}, 2), 'new', T0 + 600_000)).toBeInstanceOf(GroupClosedError);
    const stale = joinRefusal(group({}, 3), 'new', now);
    expect(stale).toBeInstanceOf(StaleGroupError);
    expect((stale as StaleGroupError).group?.memberCount).toBe(3);
  });
});

describe('Function: pageOf', () => {
  it('never shows another member’s user id, only masked names', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.boolean(), (members, expired) => {
        const g = group({ autoFillOnExpiry: true }, members);
        const page = pageOf(g, expired ? T0 + 700_000 : T0, 'https://h5.example', 'someone');
        const json = JSON.stringify(page.members);
        for (let i = 0; i < members; i++) expect(json).not.toContain(`user-${i}`);
        expect(page.members).toHaveLength(page.memberCount);
        expect(page.memberCount).toBe(expired ? 4 : members);
        expect(page.members.filter((m) => m.simulated)).toHaveLength(page.simulatedCount);
      }),
    );
  });

  it('builds the share URL under the H5 base URL', () => {
    expect(viewOf(group(), T0, 'https://h5.example/').shareUrl).toBe('https://h5.example/group-buys/grp_1');
  });
});

describe('Function: groupBuyOpenIndex', () => {
  it('sorts fewest open slots first, then soonest expiry, then id', () => {
    const entry = fc.record({
      slots: fc.integer({ min: 1, max: 49 }),
      exp: fc.integer({ min: 0, max: 10_000_000 }),
      id: fc.stringMatching(/^grp_[0-9A-Z]{6}$/),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 30 }), (entries) => {
        const key = (e: { slots: number; exp: number; id: string }) =>
          groupBuyOpenIndex('cmp', e.slots, at(e.exp), e.id).gsi1sk;
        const byKey = [...entries].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
        const byRule = [...entries].sort(
          (a, b) => a.slots - b.slots || a.exp - b.exp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
        );
        expect(byKey).toEqual(byRule);
      }),
    );
  });
});
