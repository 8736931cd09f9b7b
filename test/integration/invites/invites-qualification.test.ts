import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { invitesOrderPaidConsumer } from '#functions/consumers/invites-order-paid';
import { iso } from '#shared/clock';
import { newVisitorId } from '#shared/domain/links/visitor';
import { buildEvent, outboxPut } from '#shared/events/outbox';
import { firstOrderKey, inviteBindingKey, inviteRewardCountKey } from '#shared/store/keys';
import type { Harness } from '../../support/harness.ts';
import { inviteCampaign, inviteHarness, type recorders } from './support.ts';

describe('Invite qualification', () => {
  let h: Harness;
  let rec: ReturnType<typeof recorders>;
  beforeAll(async () => {
    ({ h, rec } = await inviteHarness());
  });

  const codeOf = async (campaignId: string, inviter: string, headers: Record<string, string> = {}) =>
    (await h.call('POST', '/v1/invites', { token: h.token(inviter), body: { campaignId }, headers })).body.code;
  const accept = (code: string, invitee: string, headers: Record<string, string> = {}) =>
    h.call('POST', `/v1/invites/${code}/accept`, { token: h.token(invitee), headers });
  const qualifiedFor = (inviteeId: string) => [...rec.qualified.values()].filter((d) => d.inviteeId === inviteeId);
  /** What the order webhook does on a user's first paid order: the marker and OrderPaid, one transaction. */
  const payFirstOrder = (userId: string, paidAt = iso(h.clock.now())) =>
    h.deps.store.transact([
      { Put: { Item: { ...firstOrderKey(userId), entity: 'firstOrder', orderId: `ord-${userId}`, paidAt } } },
      outboxPut(
        'OrderPaid',
        { orderId: `ord-${userId}`, userId, amount: 1999, currency: 'CNY', paidAt, firstOrder: true },
        h.clock,
      ),
    ]);

  describe('signup campaigns', () => {
    it('qualify on accept: one InviteQualified with both rewards, rewarded and not held', async () => {
      const cmp = await inviteCampaign(h, { lockSeconds: 3600 });
      const r = await accept(await codeOf(cmp, 'sg-inviter'), 'sg-invitee');
      expect(r.status).toBe(201);
      await h.drain();
      expect(qualifiedFor('sg-invitee')).toEqual([
        expect.objectContaining({
          inviteId: r.body.inviteId,
          campaignId: cmp,
          inviterId: 'sg-inviter',
          rewarded: true,
          held: false,
          inviterReward: { asset: 'points', amount: 100 },
          inviteeReward: { asset: 'cash', amount: 500 },
          lockSeconds: 3600,
        }),
      ]);
    });

    it('hold the reward when inviter and invitee send the same X-Device-Id', async () => {
      const cmp = await inviteCampaign(h);
      const code = await codeOf(cmp, 'dev-inviter', { 'x-device-id': 'phone-42' });
      expect((await accept(code, 'dev-invitee', { 'x-device-id': 'phone-42' })).status).toBe(201);
      expect((await accept(code, 'dev-other', { 'x-device-id': 'phone-7' })).status).toBe(201);
      expect((await accept(code, 'dev-none')).status).toBe(201);
      await h.drain();
      expect(qualifiedFor('dev-invitee')).toEqual([expect.objectContaining({ rewarded: true, held: true })]);
      expect(qualifiedFor('dev-other')).toEqual([expect.objectContaining({ rewarded: true, held: false })]);
      expect(qualifiedFor('dev-none')).toEqual([expect.objectContaining({ held: false })]);
      const b = await h.deps.store.get(inviteBindingKey(cmp, 'dev-invitee'), true);
      expect(b).toMatchObject({ held: true, status: 'qualified' });
      // Device ids are kept only as keyed hashes: no item holds the raw one.
      let stored = '';
      let start: Record<string, unknown> | undefined;
      do {
        const page = await h.deps.store.client.send(
          new ScanCommand({ TableName: h.deps.config.TABLE_NAME, ExclusiveStartKey: start }),
        );
        stored += JSON.stringify(page.Items ?? [], (_k, v) => (v instanceof Set ? [...v] : v));
        start = page.LastEvaluatedKey;
      } while (start);
      expect(stored).toContain('dev-invitee');
      expect(stored).not.toContain('phone-42');
      expect(stored).not.toContain('phone-7');
    });

    it('hold the reward when the invitee’s device is one the inviter sent on a later request for the code', async () => {
      const cmp = await inviteCampaign(h);
      const code = await codeOf(cmp, 'dev2-inviter'); // made without a device
      expect(await codeOf(cmp, 'dev2-inviter', { 'x-device-id': 'tablet-9' })).toBe(code);
      expect(await codeOf(cmp, 'dev2-inviter', { 'x-device-id': 'tablet-9' })).toBe(code); // kept once
      // More devices later: the code is answered each time, and the devices kept stay.
      for (let i = 0; i < 20; i++) expect(await codeOf(cmp, 'dev2-inviter', { 'x-device-id': `d-${i}` })).toBe(code);
      expect((await accept(code, 'dev2-invitee', { 'x-device-id': 'tablet-9' })).status).toBe(201);
      expect((await accept(code, 'dev2-other', { 'x-device-id': 'phone-1' })).status).toBe(201);
      await h.drain();
      expect(qualifiedFor('dev2-invitee')).toEqual([expect.objectContaining({ held: true })]);
      expect(qualifiedFor('dev2-other')).toEqual([expect.objectContaining({ held: false })]);
    });

    it('hold the reward when the two share a device or visitor sent on other requests: another campaign’s code, the invitee’s own code, one browser', async () => {
      const [first, second] = [await inviteCampaign(h), await inviteCampaign(h)];
      // The inviter's device is known from their code in another campaign.
      await codeOf(first, 'x-inviter', { 'x-device-id': 'shared-1' });
      const code = await codeOf(second, 'x-inviter');
      expect((await accept(code, 'x-invitee', { 'x-device-id': 'shared-1' })).status).toBe(201);
      // The invitee's device is known from their own code; this accept sends none.
      await codeOf(first, 'y-invitee', { 'x-device-id': 'shared-2' });
      const code2 = await codeOf(second, 'y-inviter', { 'x-device-id': 'shared-2' });
      expect((await accept(code2, 'y-invitee')).status).toBe(201);
      // One browser: the same fission_vid cookie on both sides, no device id at all.
      const browser = { cookie: `fission_vid=${newVisitorId()}` };
      const code3 = await codeOf(second, 'z-inviter', browser);
      expect((await accept(code3, 'z-invitee', browser)).status).toBe(201);
      // Devices of their own on both sides: not held.
      await codeOf(first, 'w-invitee', { 'x-device-id': 'own-w' });
      expect((await accept(code, 'w-invitee', { 'x-device-id': 'own-w2' })).status).toBe(201);
      await h.drain();
      for (const invitee of ['x-invitee', 'y-invitee', 'z-invitee'])
        expect(qualifiedFor(invitee)).toEqual([expect.objectContaining({ held: true })]);
      expect(qualifiedFor('w-invitee')).toEqual([expect.objectContaining({ held: false })]);
      const b = await h.deps.store.get(inviteBindingKey(second, 'y-invitee'), true);
      expect(b).toMatchObject({ held: true, heldFor: ['same_device'] });
    });

    it('take a placeholder device id (unknown, all zeros) on both sides as no device, not a shared one', async () => {
      const cmp = await inviteCampaign(h);
      const code = await codeOf(cmp, 'ph-inviter', { 'x-device-id': 'unknown' });
      const zeros = '00000000-0000-0000-0000-000000000000';
      await codeOf(cmp, 'ph-inviter', { 'x-device-id': zeros });
      expect((await accept(code, 'ph-invitee-1', { 'x-device-id': 'unknown' })).status).toBe(201);
      expect((await accept(code, 'ph-invitee-2', { 'x-device-id': zeros })).status).toBe(201);
      expect((await accept(code, 'ph-invitee-3', { 'x-device-id': 'null' })).status).toBe(201);
      await h.drain();
      for (const invitee of ['ph-invitee-1', 'ph-invitee-2', 'ph-invitee-3'])
        expect(qualifiedFor(invitee)).toEqual([expect.objectContaining({ held: false })]);
    });

    it('record an invitee whose first order was already paid, with no reward and no InviteQualified', async () => {
      const cmp = await inviteCampaign(h);
      await payFirstOrder('old-customer');
      await h.drain();
      const r = await accept(await codeOf(cmp, 'oc-inviter'), 'old-customer');
      expect(r.status).toBe(201);
      await h.drain();
      expect(qualifiedFor('old-customer')).toEqual([]);
      const mine = await h.call('GET', `/v1/invites/mine?campaignId=${cmp}`, { token: h.token('oc-inviter') });
      expect(mine.body.items).toEqual([
        expect.objectContaining({ inviteeId: 'old-customer', status: 'ineligible', rewarded: false }),
      ]);
    });

    it('reward at most maxRewardedInvitesPerInviter of 20 concurrent accepts, and record all 20', async () => {
      const cmp = await inviteCampaign(h, { maxRewardedInvitesPerInviter: 3 });
      const code = await codeOf(cmp, 'cap-inviter');
      const invitees = Array.from({ length: 20 }, (_, i) => `cap-invitee-${i}`);
      const rs = await Promise.all(invitees.map((u) => accept(code, u)));
      expect(rs.map((r) => r.status)).toEqual(invitees.map(() => 201));
      await h.drain();
      const events = invitees.flatMap(qualifiedFor);
      expect(events).toHaveLength(20);
      expect(events.filter((e) => e.rewarded)).toHaveLength(3);
      const bindings = await Promise.all(invitees.map((u) => h.deps.store.get(inviteBindingKey(cmp, u), true)));
      expect(bindings.filter((b) => b?.rewarded)).toHaveLength(3);
      expect(bindings.every((b) => b?.status === 'qualified')).toBe(true);
      expect((await h.deps.store.get(inviteRewardCountKey(cmp, 'cap-inviter'), true))?.count).toBe(3);
      const other = await accept(await codeOf(cmp, 'cap-inviter-2'), 'cap-invitee-x');
      await h.drain();
      expect(other.status).toBe(201);
      expect(qualifiedFor('cap-invitee-x')).toEqual([expect.objectContaining({ rewarded: true })]);
    });

    it('reward nothing when maxRewardedInvitesPerInviter is 0', async () => {
      const cmp = await inviteCampaign(h, { maxRewardedInvitesPerInviter: 0 });
      expect((await accept(await codeOf(cmp, 'zero-inviter'), 'zero-invitee')).status).toBe(201);
      await h.drain();
      expect(qualifiedFor('zero-invitee')).toEqual([expect.objectContaining({ rewarded: false })]);
    });
  });

  describe('first_order campaigns', () => {
    it('leave the binding pending until the first paid order, then qualify it once', async () => {
      const cmp = await inviteCampaign(h, { qualifyingAction: 'first_order', lockSeconds: 60 });
      const r = await accept(await codeOf(cmp, 'fo-inviter'), 'fo-invitee');
      expect(r.status).toBe(201);
      await h.drain();
      expect(qualifiedFor('fo-invitee')).toEqual([]);
      const before = await h.call('GET', `/v1/invites/mine?campaignId=${cmp}`, { token: h.token('fo-inviter') });
      expect(before.body.items).toEqual([
        expect.objectContaining({ inviteeId: 'fo-invitee', status: 'pending', rewarded: false }),
      ]);
      expect(before.body.items[0].qualifiedAt).toBeUndefined();

      await payFirstOrder('fo-invitee');
      await h.drain();
      expect(qualifiedFor('fo-invitee')).toEqual([
        expect.objectContaining({ inviteId: r.body.inviteId, rewarded: true, held: false, lockSeconds: 60 }),
      ]);
      const after = await h.call('GET', `/v1/invites/mine?campaignId=${cmp}`, { token: h.token('fo-inviter') });
      expect(after.body.items[0]).toMatchObject({ status: 'qualified', rewarded: true });
      expect(after.body.items[0].qualifiedAt).toEqual(expect.any(String));
    });

    it('qualify without reward on a first order paid while the campaign is paused or ended', async () => {
      for (const status of ['paused', 'ended'] as const) {
        const cmp = await inviteCampaign(h, { qualifyingAction: 'first_order' });
        const inviter = `inactive-${status}-inviter`;
        const invitee = `inactive-${status}-invitee`;
        expect((await accept(await codeOf(cmp, inviter), invitee)).status).toBe(201);
        const patched = await h.call('PATCH', `/v1/admin/campaigns/${cmp}`, {
          token: h.token('admin', ['admin']),
          body: { status },
        });
        expect(patched.status).toBe(200);
        await payFirstOrder(invitee);
        await h.drain();
        expect(qualifiedFor(invitee)).toEqual([expect.objectContaining({ rewarded: false })]);
        const mine = await h.call('GET', `/v1/invites/mine?campaignId=${cmp}`, { token: h.token(inviter) });
        expect(mine.body.items).toEqual([
          expect.objectContaining({ inviteeId: invitee, status: 'qualified', rewarded: false }),
        ]);
      }
    });

    it('judge the campaign as it was when the order was paid, not when OrderPaid is delivered', async () => {
      const admin = h.token('admin', ['admin']);
      const patch = (cmp: string, status: string) =>
        h.call('PATCH', `/v1/admin/campaigns/${cmp}`, { token: admin, body: { status } });
      const tick = () => new Promise((r) => setTimeout(r, 5));
      // Paid while active, delivered after a pause (a backlog, a retry): rewarded.
      const a = await inviteCampaign(h, { qualifyingAction: 'first_order' });
      await accept(await codeOf(a, 'then-active-inviter'), 'then-active-invitee');
      await h.drain();
      await payFirstOrder('then-active-invitee');
      await tick();
      expect((await patch(a, 'paused')).status).toBe(200);
      await h.drain();
      expect(qualifiedFor('then-active-invitee')).toEqual([expect.objectContaining({ rewarded: true })]);
      // Paid during a pause, delivered after it resumed: not rewarded.
      const b = await inviteCampaign(h, { qualifyingAction: 'first_order' });
      await accept(await codeOf(b, 'then-paused-inviter'), 'then-paused-invitee');
      await h.drain();
      expect((await patch(b, 'paused')).status).toBe(200);
      await tick();
      await payFirstOrder('then-paused-invitee');
      await tick();
      expect((await patch(b, 'active')).status).toBe(200);
      await h.drain();
      expect(qualifiedFor('then-paused-invitee')).toEqual([expect.objectContaining({ rewarded: false })]);
    });

    it('emit one InviteQualified however often OrderPaid is delivered, even concurrently', async () => {
      const cmp = await inviteCampaign(h, { qualifyingAction: 'first_order' });
      await accept(await codeOf(cmp, 'rd-inviter'), 'rd-invitee');
      const event = buildEvent(
        'OrderPaid',
        {
          orderId: 'ord-rd',
          userId: 'rd-invitee',
          amount: 500,
          currency: 'CNY',
          paidAt: iso(h.clock.now() + 1000),
          firstOrder: true,
        },
        h.clock,
      );
      await Promise.all(Array.from({ length: 5 }, () => invitesOrderPaidConsumer.handle(event, h.deps)));
      await invitesOrderPaidConsumer.handle(event, h.deps);
      await h.bus.deliver('invites-order-paid', event);
      await h.drain();
      expect(qualifiedFor('rd-invitee')).toHaveLength(1);
    });

    it('qualify every pending binding of the invitee, one per campaign', async () => {
      const a = await inviteCampaign(h, { qualifyingAction: 'first_order' });
      const b = await inviteCampaign(h, { qualifyingAction: 'first_order' });
      await accept(await codeOf(a, 'multi-a'), 'multi-invitee');
      await accept(await codeOf(b, 'multi-b'), 'multi-invitee');
      await payFirstOrder('multi-invitee');
      await h.drain();
      expect(
        qualifiedFor('multi-invitee')
          .map((e) => e.inviterId)
          .sort(),
      ).toEqual(['multi-a', 'multi-b']);
    });

    it('ignore an OrderPaid that is not the first order', async () => {
      const cmp = await inviteCampaign(h, { qualifyingAction: 'first_order' });
      await accept(await codeOf(cmp, 'nf-inviter'), 'nf-invitee');
      const event = buildEvent(
        'OrderPaid',
        {
          orderId: 'ord-nf',
          userId: 'nf-invitee',
          amount: 500,
          currency: 'CNY',
          paidAt: iso(h.clock.now() + 1000),
          firstOrder: false,
        },
        h.clock,
      );
      await invitesOrderPaidConsumer.handle(event, h.deps);
      expect((await h.deps.store.get(inviteBindingKey(cmp, 'nf-invitee'), true))?.status).toBe('pending');
    });

    it('give no reward when the first order was paid before accepting', async () => {
      const cmp = await inviteCampaign(h, { qualifyingAction: 'first_order' });
      await payFirstOrder('early-buyer');
      await h.drain();
      expect((await accept(await codeOf(cmp, 'eb-inviter'), 'early-buyer')).status).toBe(201);
      await h.drain();
      expect(qualifiedFor('early-buyer')).toEqual([]);
      expect(await h.deps.store.get(inviteBindingKey(cmp, 'early-buyer'), true)).toMatchObject({
        status: 'ineligible',
        rewarded: false,
        reason: 'existing_customer',
      });
    });

    it('give no reward when a late webhook reports a first order paid before the accept', async () => {
      const cmp = await inviteCampaign(h, { qualifyingAction: 'first_order' });
      await accept(await codeOf(cmp, 'late-inviter'), 'late-invitee');
      await payFirstOrder('late-invitee', iso(h.clock.now() - 3600_000));
      await h.drain();
      expect(qualifiedFor('late-invitee')).toEqual([]);
      expect((await h.deps.store.get(inviteBindingKey(cmp, 'late-invitee'), true))?.status).toBe('ineligible');
    });

    it('honour maxRewardedInvitesPerInviter when many invitees order at once', async () => {
      const cmp = await inviteCampaign(h, { qualifyingAction: 'first_order', maxRewardedInvitesPerInviter: 2 });
      const code = await codeOf(cmp, 'focap-inviter', { 'x-device-id': 'dev-x' });
      const invitees = Array.from({ length: 8 }, (_, i) => `focap-${i}`);
      for (const u of invitees)
        expect((await accept(code, u, u === 'focap-0' ? { 'x-device-id': 'dev-x' } : {})).status).toBe(201);
      await Promise.all(invitees.map((u) => payFirstOrder(u)));
      await h.drain();
      const events = invitees.flatMap(qualifiedFor);
      expect(events).toHaveLength(8);
      expect(events.filter((e) => e.rewarded)).toHaveLength(2);
      expect(qualifiedFor('focap-0')).toEqual([expect.objectContaining({ held: true })]);
      expect((await h.deps.store.get(inviteRewardCountKey(cmp, 'focap-inviter'), true))?.count).toBe(2);
    });
  });
});
