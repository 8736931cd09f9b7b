import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { iso, ManualClock } from '#shared/clock';
import { expireGroup } from '#shared/domain/group-buys/expire-group';
import { effectiveStatus } from '#shared/domain/group-buys/group-rules';
import { joinGroup } from '#shared/domain/group-buys/join-group';
import { leaveGroup } from '#shared/domain/group-buys/leave-group';
import { openGroup } from '#shared/domain/group-buys/open-group';
import { recordPaidOrder } from '#shared/domain/orders/record-paid-order';
import { recordRefund } from '#shared/domain/orders/record-refund';
import { type AppError, ForbiddenError, NotFoundError } from '#shared/errors';
import { findGroup, listMemberItems } from '#shared/store/group-buys';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createGroupCampaign, pendingEvents } from './support.ts';

const SIZE = 3;
const DURATION = 100;
const USERS = ['a', 'b', 'c', 'd', 'e'];

interface MGroup {
  id: string;
  leader: string;
  members: Set<string>;
  /** Each member's order id. */
  orders: Map<string, string>;
  /** Stored status: open until formed by a join or closed by the sweep. */
  status: 'open' | 'formed' | 'failed';
  expiresAt: number;
}
interface Model {
  groups: MGroup[];
  autoFill: boolean;
  now: () => number;
}
/** What the runs exercised, so the test cannot pass by never reaching a case. */
const seenOutcomes = new Set<string>();

interface Real {
  h: Harness;
  campaignId: string;
  clock: ManualClock;
  orders: number;
  /** Orders the shop has refunded in full: their refund again is a repeat (200). */
  refunded: Set<string>;
}

const seen = (m: Model, g: MGroup) =>
  g.status !== 'open' ? g.status : g.expiresAt <= m.now() ? (m.autoFill ? 'formed' : 'failed') : 'open';
const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof ForbiddenError) return 'forbidden';
    if (e instanceof NotFoundError) return 'not_found';
    if ((e as AppError).code) return (e as AppError).code;
    throw e;
  }
};
/** The sweep the model expects: every open group past expiry closes. */
const sweepModel = (m: Model, leader?: string) => {
  for (const g of m.groups)
    if (g.status === 'open' && g.expiresAt <= m.now() && (!leader || g.leader === leader))
      g.status = m.autoFill ? 'formed' : 'failed';
};

async function agree(m: Model, r: Real, g: MGroup) {
  const stored = (await findGroup(r.h.deps.store, g.id, true))!;
  expect(effectiveStatus(stored, r.clock.now())).toBe(seen(m, g));
  expect(Object.keys(stored.roster).sort()).toEqual([...g.members].sort());
  const items = await listMemberItems(r.h.deps.store, g.id);
  expect(items.map((i) => i.userId).sort()).toEqual([...g.members].sort());
  expect(stored.memberCount).toBe(g.members.size + (stored.simulated?.length ?? 0));
  expect(stored.memberCount).toBeLessThanOrEqual(SIZE);
}

class OpenCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly user: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const open = (m.groups.filter((g) => g.leader === this.user && seen(m, g) === 'open').length ?? 0) > 0;
    const orderId = `${r.campaignId}-${++r.orders}`;
    const code = await codeOf(
      openGroup(r.h.deps, { campaignId: r.campaignId, orderId, userId: this.user }).then((v) => {
        m.groups.push({
          id: v.id,
          leader: this.user,
          members: new Set([this.user]),
          orders: new Map([[this.user, orderId]]),
          status: 'open',
          expiresAt: r.clock.now() + DURATION * 1000,
        });
      }),
    );
    if (!open) sweepModel(m, this.user);
    expect(code).toBe(open ? 'too_many_open_groups' : 'ok');
  }
  toString = () => `open(${this.user})`;
}

class JoinCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly gi: number,
    readonly user: string,
  ) {}
  check = (m: Readonly<Model>) => m.groups.length > 0;
  async run(m: Model, r: Real) {
    const g = m.groups[this.gi % m.groups.length]!;
    const expected = g.members.has(this.user) ? 'already_member' : seen(m, g) !== 'open' ? 'group_closed' : 'ok';
    const orderId = `${r.campaignId}-${++r.orders}`;
    const code = await codeOf(joinGroup(r.h.deps, { groupId: g.id, userId: this.user, orderId }));
    expect(code).toBe(expected);
    seenOutcomes.add(`join:${code}`);
    if (code === 'ok') {
      g.members.add(this.user);
      g.orders.set(this.user, orderId);
      if (g.members.size === SIZE) g.status = 'formed';
    }
    await agree(m, r, g);
  }
  toString = () => `join(${this.gi}, ${this.user})`;
}

class LeaveCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly gi: number,
    private user: string,
    /** Pick a member who is not the leader, when there is one (leaves by strangers are mostly 404s). */
    readonly preferMember: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.groups.length > 0;
  async run(m: Model, r: Real) {
    const g = m.groups[this.gi % m.groups.length]!;
    const member = [...g.members].sort().find((u) => u !== g.leader);
    if (this.preferMember && member) this.user = member;
    const expected = !g.members.has(this.user)
      ? 'not_found'
      : g.leader === this.user
        ? 'forbidden'
        : seen(m, g) !== 'open'
          ? 'group_closed'
          : 'ok';
    const code = await codeOf(leaveGroup(r.h.deps, { groupId: g.id, userId: this.user }));
    expect(code).toBe(expected);
    seenOutcomes.add(`leave:${code}`);
    if (code === 'ok') g.members.delete(this.user);
    await agree(m, r, g);
  }
  toString = () => `leave(${this.gi}, ${this.user})`;
}

/** The shop reports a member's order paid, then refunded in full: it fails the open group it leads, or takes its member out. */
class RefundCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly gi: number,
    readonly memberIndex: number,
  ) {}
  check = (m: Readonly<Model>) => m.groups.length > 0;
  async run(m: Model, r: Real) {
    const g = m.groups[this.gi % m.groups.length]!;
    const members = [...g.members].sort();
    if (members.length === 0) return;
    const user = members[this.memberIndex % members.length]!;
    const orderId = g.orders.get(user)!;
    const at = iso(r.clock.now());
    await recordPaidOrder(r.h.deps, { orderId, userId: user, amount: 3000, currency: 'CNY', paidAt: at });
    const refund = await recordRefund(r.h.deps, { orderId, refundId: 'all', amount: 3000, refundedAt: at });
    expect(refund.status).toBe(r.refunded.has(orderId) ? 200 : 201);
    r.refunded.add(orderId);
    const outcome = seen(m, g) !== 'open' ? 'kept' : user === g.leader ? 'failed' : 'left';
    seenOutcomes.add(`refund:${outcome}`);
    if (outcome === 'failed') g.status = 'failed';
    if (outcome === 'left') {
      g.members.delete(user);
      g.orders.delete(user);
    }
    await agree(m, r, g);
  }
  toString = () => `refund(${this.gi}, member ${this.memberIndex})`;
}

class ExpireCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly seconds: number,
    readonly sweep: boolean,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    r.clock.advance(this.seconds);
    if (this.sweep) {
      await Promise.all(m.groups.map((g) => expireGroup(r.h.deps, g.id)));
      sweepModel(m);
    }
    for (const g of m.groups) await agree(m, r, g);
  }
  toString = () => `expire(+${this.seconds}s, sweep=${this.sweep})`;
}

describe('Group buys model (fast-check commands against DynamoDB Local)', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(Date.parse('2026-11-24T10:00:00.000Z'));
    h = await createHarness({ clock });
  });

  it('open, join, leave, refund and expire: the model and the store agree, and each group forms or fails once', async () => {
    const user = fc.constantFrom(...USERS);
    const commands = fc.commands(
      [
        user.map((u) => new OpenCmd(u)),
        fc.tuple(fc.nat(7), user).map(([g, u]) => new JoinCmd(g, u)),
        fc.tuple(fc.nat(7), user, fc.boolean()).map(([g, u, p]) => new LeaveCmd(g, u, p)),
        fc.tuple(fc.nat(7), fc.nat(2)).map(([g, i]) => new RefundCmd(g, i)),
        fc.tuple(fc.constantFrom(1, 30, 99, 100, 150), fc.boolean()).map(([s, w]) => new ExpireCmd(s, w)),
      ],
      { maxCommands: 30 },
    );
    await fc.assert(
      fc.asyncProperty(fc.boolean(), commands, async (autoFill, cmds) => {
        const campaignId = await createGroupCampaign(h, {
          groupSize: SIZE,
          durationSeconds: DURATION,
          autoFillOnExpiry: autoFill,
        });
        const model: Model = { groups: [], autoFill, now: () => clock.now() };
        const real: Real = { h, campaignId, clock, orders: 0, refunded: new Set() };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        for (const g of model.groups) {
          const closes = [
            ...(await pendingEvents(h, 'GroupBuyFormed', g.id)),
            ...(await pendingEvents(h, 'GroupBuyFailed', g.id)),
          ];
          expect(closes).toHaveLength(g.status === 'open' ? 0 : 1);
          seenOutcomes.add(`group:${g.status}`);
          if (closes[0]) expect(closes[0].type).toBe(g.status === 'formed' ? 'GroupBuyFormed' : 'GroupBuyFailed');
        }
      }),
      {
        numRuns: 25,
        // Fixed cases first, so every outcome is reached whatever the random runs draw.
        examples: [
          [false, [new OpenCmd('a'), new JoinCmd(0, 'b'), new JoinCmd(0, 'c'), new JoinCmd(0, 'd')]],
          [
            false,
            [
              new OpenCmd('a'),
              new JoinCmd(0, 'b'),
              new JoinCmd(0, 'b'),
              new LeaveCmd(0, 'b', true),
              new ExpireCmd(150, true),
              new JoinCmd(0, 'c'),
            ],
          ],
          [true, [new OpenCmd('a'), new JoinCmd(0, 'b'), new ExpireCmd(100, false), new ExpireCmd(1, true)]],
          [
            false,
            [new OpenCmd('a'), new JoinCmd(0, 'b'), new RefundCmd(0, 1), new JoinCmd(0, 'c'), new RefundCmd(0, 0)],
          ],
          [false, [new OpenCmd('a'), new JoinCmd(0, 'b'), new JoinCmd(0, 'c'), new RefundCmd(0, 2)]],
        ],
      },
    );
    for (const o of [
      'join:ok',
      'join:already_member',
      'join:group_closed',
      'leave:ok',
      'refund:left',
      'refund:failed',
      'refund:kept',
      'group:formed',
      'group:failed',
    ])
      expect(seenOutcomes).toContain(o);
  }, 240_000);
});
