import { beforeAll, describe, expect, it } from 'vitest';
import { CODE_PATTERN } from '#shared/ids';
import { inviteBindingKey, inviterCodeKey } from '#shared/store/keys';
import type { Harness } from '../../support/harness.ts';
import { inviteCampaign, inviteHarness, pendingEvents } from './support.ts';

describe('Invites API', () => {
  let h: Harness;
  let campaignId: string;
  beforeAll(async () => {
    ({ h } = await inviteHarness());
    campaignId = await inviteCampaign(h);
  });

  describe('POST /v1/invites', () => {
    it('creates a short code with the H5 url (201), then answers the same code with 200', async () => {
      const token = h.token('alice', ['user'], 'Alice');
      const first = await h.call('POST', '/v1/invites', { token, body: { campaignId } });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ campaignId, inviterId: 'alice' });
      expect(first.body.code).toMatch(CODE_PATTERN);
      expect(first.body.code).toHaveLength(8);
      expect(first.body.url).toBe(`${h.deps.config.h5BaseUrl}/invites/${first.body.code}`);
      const again = await h.call('POST', '/v1/invites', { token, body: { campaignId } });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
    });

    it('gives every user and every campaign its own code, not in sequence', async () => {
      const other = await inviteCampaign(h);
      const codes = new Set<string>();
      for (const [user, cmp] of [
        ['u-seq-1', campaignId],
        ['u-seq-2', campaignId],
        ['u-seq-1', other],
      ] as const) {
        const r = await h.call('POST', '/v1/invites', { token: h.token(user), body: { campaignId: cmp } });
        expect(r.status).toBe(201);
        codes.add(r.body.code);
      }
      expect(codes.size).toBe(3);
    });

    it('returns one code to 10 concurrent first calls and stores one', async () => {
      const token = h.token('racer');
      const rs = await Promise.all(
        Array.from({ length: 10 }, () => h.call('POST', '/v1/invites', { token, body: { campaignId } })),
      );
      expect(rs.every((r) => r.status === 200 || r.status === 201)).toBe(true);
      expect(rs.filter((r) => r.status === 201)).toHaveLength(1);
      expect(new Set(rs.map((r) => r.body.code)).size).toBe(1);
      const stored = await h.deps.store.get(inviterCodeKey(campaignId, 'racer'), true);
      expect(stored?.code).toBe(rs[0]!.body.code);
    });

    it('answers 404 for no such invite campaign and for a campaign of another type', async () => {
      const token = h.token('u404');
      const none = await h.call('POST', '/v1/invites', { token, body: { campaignId: 'cmp_nope' } });
      expect([none.status, none.body.code]).toEqual([404, 'not_found']);
      const bargain = await h.call('POST', '/v1/admin/campaigns', {
        token: h.token('admin-1', ['admin']),
        body: {
          type: 'bargain',
          title: 'b',
          rules: { sku: 's', originalPrice: 100, floorPrice: 10, helpersRequired: 2, durationSeconds: 60 },
        },
      });
      const wrong = await h.call('POST', '/v1/invites', { token, body: { campaignId: bargain.body.id } });
      expect([wrong.status, wrong.body.code]).toEqual([404, 'not_found']);
    });

    it('answers 409 campaign_inactive for a paused campaign', async () => {
      const paused = await inviteCampaign(h);
      await h.call('PATCH', `/v1/admin/campaigns/${paused}`, {
        token: h.token('admin-1', ['admin']),
        body: { status: 'paused' },
      });
      const r = await h.call('POST', '/v1/invites', { token: h.token('u-p'), body: { campaignId: paused } });
      expect([r.status, r.body.code]).toEqual([409, 'campaign_inactive']);
    });

    it.each([
      ['a missing campaignId', {}],
      ['an unknown field', { campaignId: 'cmp_x', extra: 1 }],
      ['a non-string campaignId', { campaignId: 42 }],
      ['an empty campaignId', { campaignId: '' }],
    ])('refuses %s with 400 validation_failed', async (_n, body) => {
      const r = await h.call('POST', '/v1/invites', { token: h.token('u-val'), body });
      expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
      expect(await h.deps.store.get(inviterCodeKey('cmp_x', 'u-val'), true)).toBeUndefined();
    });

    it('refuses a device id over 128 characters', async () => {
      const r = await h.call('POST', '/v1/invites', {
        token: h.token('u-dev'),
        body: { campaignId },
        headers: { 'x-device-id': 'd'.repeat(129) },
      });
      expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
    });

    it('takes an empty or blank device id as none, on the code and on the accept', async () => {
      const code = await h.call('POST', '/v1/invites', {
        token: h.token('u-dev-empty'),
        body: { campaignId },
        headers: { 'x-device-id': '' },
      });
      expect(code.status).toBe(201);
      const accepted = await h.call('POST', `/v1/invites/${code.body.code}/accept`, {
        token: h.token('u-dev-empty-invitee'),
        headers: { 'x-device-id': '   ' },
      });
      expect([accepted.status, accepted.body.status]).toEqual([201, 'accepted']);
    });

    it('needs a user token', async () => {
      const anon = await h.call('POST', '/v1/invites', { body: { campaignId } });
      expect([anon.status, anon.body.code]).toEqual([401, 'unauthorized']);
      const kol = await h.call('POST', '/v1/invites', { token: h.token('k', ['kol']), body: { campaignId } });
      expect([kol.status, kol.body.code]).toEqual([403, 'forbidden']);
    });
  });

  describe('GET /v1/invites/{code}', () => {
    it('is public and shows only the campaign and the masked inviter name', async () => {
      const mine = await h.call('POST', '/v1/invites', {
        token: h.token('zhang-san-id', ['user'], '张三丰'),
        body: { campaignId },
        headers: { 'x-device-id': 'device-secret' },
      });
      const r = await h.call('GET', `/v1/invites/${mine.body.code}`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ code: mine.body.code, campaignId, inviter: { displayName: '张**' } });
      expect(r.text).not.toContain('zhang-san-id');
      expect(r.text).not.toContain('三');
      expect(r.text).not.toContain('device-secret');
    });

    it('shows no display name when the inviter had none', async () => {
      const mine = await h.call('POST', '/v1/invites', { token: h.token('nameless'), body: { campaignId } });
      const r = await h.call('GET', `/v1/invites/${mine.body.code}`);
      expect(r.body).toEqual({ code: mine.body.code, campaignId, inviter: {} });
    });

    it('takes a code typed in capitals, or pasted with spaces around it, as the code', async () => {
      // A code with a letter in it (all eight digits is a chance in 50,000).
      let [code, inviter] = ['', ''];
      for (let i = 0; !/[a-z]/.test(code); i++) {
        inviter = `shouty-${i}`;
        code = (await h.call('POST', '/v1/invites', { token: h.token(inviter), body: { campaignId } })).body.code;
      }
      const typed = code.toUpperCase();
      const r = await h.call('GET', `/v1/invites/${typed}`);
      expect([r.status, r.body.code]).toEqual([200, code]);
      const pasted = encodeURIComponent(` ${typed} `);
      const accepted = await h.call('POST', `/v1/invites/${pasted}/accept`, { token: h.token('shouty-friend') });
      expect([accepted.status, accepted.body.inviterId]).toEqual([201, inviter]);
    });

    it('answers 404 for an unknown, malformed or absurdly long code', async () => {
      for (const code of ['zzzzzzzz', 'NOT-A-CODE', 'mine0', 'a'.repeat(65)]) {
        const r = await h.call('GET', `/v1/invites/${code}`);
        expect([r.status, r.body.code]).toEqual([404, 'not_found']);
      }
    });
  });

  describe('POST /v1/invites/{code}/accept', () => {
    let code: string;
    beforeAll(async () => {
      code = (await h.call('POST', '/v1/invites', { token: h.token('inviter-a'), body: { campaignId } })).body.code;
    });

    it('binds the invitee (201) and emits InviteAccepted with the share hints', async () => {
      const r = await h.call('POST', `/v1/invites/${code}/accept`, {
        token: h.token('invitee-1'),
        headers: { 'x-fission-visitor': 'vid-1', 'x-fission-ref': 'ref-1' },
      });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ inviterId: 'inviter-a', inviteeId: 'invitee-1', status: 'accepted', campaignId });
      expect(r.body.inviteId).toMatch(/^inv_/);
      const accepted = (await pendingEvents(h, 'InviteAccepted')).map((e) => JSON.parse(e.detail));
      expect(accepted.find((d) => d.inviteId === r.body.inviteId)).toMatchObject({
        code,
        inviterId: 'inviter-a',
        inviteeId: 'invitee-1',
        via: { visitorId: 'vid-1', ref: 'ref-1' },
      });
    });

    it('takes an empty body or {} and refuses any other body', async () => {
      const empty = await h.call('POST', `/v1/invites/${code}/accept`, { token: h.token('invitee-2'), raw: '{}' });
      expect(empty.status).toBe(201);
      const body = await h.call('POST', `/v1/invites/${code}/accept`, {
        token: h.token('invitee-3'),
        body: { inviterId: 'someone' },
      });
      expect([body.status, body.body.code]).toEqual([400, 'validation_failed']);
      expect(await h.deps.store.get(inviteBindingKey(campaignId, 'invitee-3'), true)).toBeUndefined();
    });

    it('refuses the own code with 403 self_invite_forbidden and records nothing', async () => {
      const r = await h.call('POST', `/v1/invites/${code}/accept`, { token: h.token('inviter-a') });
      expect([r.status, r.body.code]).toEqual([403, 'self_invite_forbidden']);
      expect(await h.deps.store.get(inviteBindingKey(campaignId, 'inviter-a'), true)).toBeUndefined();
    });

    it('records a mutual invite (each accepts the other’s code) with its rewards held, also when both accept at once', async () => {
      const cmp = await inviteCampaign(h);
      const codeOf = async (u: string) =>
        (await h.call('POST', '/v1/invites', { token: h.token(u), body: { campaignId: cmp } })).body.code;
      const binding = (invitee: string) =>
        h.deps.store.get<Record<string, unknown>>(inviteBindingKey(cmp, invitee), true);
      const qualifiedHeld = async (invitee: string) =>
        (await pendingEvents(h, 'InviteQualified'))
          .map((e) => JSON.parse(e.detail))
          .filter((d) => d.campaignId === cmp && d.inviteeId === invitee)
          .map((d) => d.held);

      const [a, b] = [await codeOf('mutual-a'), await codeOf('mutual-b')];
      expect((await h.call('POST', `/v1/invites/${a}/accept`, { token: h.token('mutual-b') })).status).toBe(201);
      const back = await h.call('POST', `/v1/invites/${b}/accept`, { token: h.token('mutual-a') });
      expect(back.status).toBe(201);
      expect(await binding('mutual-b')).toMatchObject({ inviterId: 'mutual-a', held: false });
      expect(await binding('mutual-a')).toMatchObject({
        inviterId: 'mutual-b',
        held: true,
        heldFor: ['mutual_invite'],
      });
      expect(await qualifiedHeld('mutual-b')).toEqual([false]);
      expect(await qualifiedHeld('mutual-a')).toEqual([true]);
      const mine = await h.call('GET', `/v1/invites/mine?campaignId=${cmp}`, { token: h.token('mutual-b') });
      expect(mine.body.items).toEqual([
        expect.objectContaining({ inviteeId: 'mutual-a', held: true, heldFor: ['mutual_invite'] }),
      ]);

      // Crossing accepts: the transaction that commits second sees the first and is held.
      const [c, d] = [await codeOf('mutual-c'), await codeOf('mutual-d')];
      const rs = await Promise.all([
        h.call('POST', `/v1/invites/${c}/accept`, { token: h.token('mutual-d') }),
        h.call('POST', `/v1/invites/${d}/accept`, { token: h.token('mutual-c') }),
      ]);
      expect(rs.map((r) => r.status)).toEqual([201, 201]);
      const held = [(await binding('mutual-c'))?.held, (await binding('mutual-d'))?.held];
      expect(held.filter(Boolean)).toHaveLength(1);
    });

    it('keeps the first binding: a second accept of any code in the campaign → 409 already_invited', async () => {
      const other = (await h.call('POST', '/v1/invites', { token: h.token('inviter-b'), body: { campaignId } })).body
        .code;
      const first = await h.call('POST', `/v1/invites/${code}/accept`, { token: h.token('invitee-4') });
      expect(first.status).toBe(201);
      const same = await h.call('POST', `/v1/invites/${code}/accept`, { token: h.token('invitee-4') });
      expect([same.status, same.body.code]).toEqual([409, 'already_invited']);
      const switched = await h.call('POST', `/v1/invites/${other}/accept`, { token: h.token('invitee-4') });
      expect([switched.status, switched.body.code]).toEqual([409, 'already_invited']);
      const binding = await h.deps.store.get(inviteBindingKey(campaignId, 'invitee-4'), true);
      expect(binding?.inviterId).toBe('inviter-a');
    });

    it('lets the same invitee join another campaign through another inviter', async () => {
      const second = await inviteCampaign(h);
      const c2 = (await h.call('POST', '/v1/invites', { token: h.token('inviter-c'), body: { campaignId: second } }))
        .body.code;
      const r = await h.call('POST', `/v1/invites/${c2}/accept`, { token: h.token('invitee-1') });
      expect(r.status).toBe(201);
    });

    it('replays the first answer for a repeated Idempotency-Key', async () => {
      const token = h.token('invitee-5');
      const headers = { 'idempotency-key': 'accept-once' };
      const a = await h.call('POST', `/v1/invites/${code}/accept`, { token, headers });
      const b = await h.call('POST', `/v1/invites/${code}/accept`, { token, headers });
      expect(a.status).toBe(201);
      expect([b.status, b.body]).toEqual([201, a.body]);
    });

    it('answers 404 for an unknown code and 409 campaign_inactive once the campaign is paused', async () => {
      const unknown = await h.call('POST', '/v1/invites/zzzzzzzz/accept', { token: h.token('invitee-6') });
      expect([unknown.status, unknown.body.code]).toEqual([404, 'not_found']);
      const later = await inviteCampaign(h);
      const c = (await h.call('POST', '/v1/invites', { token: h.token('inviter-d'), body: { campaignId: later } })).body
        .code;
      await h.call('PATCH', `/v1/admin/campaigns/${later}`, {
        token: h.token('admin-1', ['admin']),
        body: { status: 'paused' },
      });
      const r = await h.call('POST', `/v1/invites/${c}/accept`, { token: h.token('invitee-6') });
      expect([r.status, r.body.code]).toEqual([409, 'campaign_inactive']);
      expect(await h.deps.store.get(inviteBindingKey(later, 'invitee-6'), true)).toBeUndefined();
    });

    it('needs a user token', async () => {
      const anon = await h.call('POST', `/v1/invites/${code}/accept`);
      expect([anon.status, anon.body.code]).toEqual([401, 'unauthorized']);
      const admin = await h.call('POST', `/v1/invites/${code}/accept`, { token: h.token('adm', ['admin']) });
      expect([admin.status, admin.body.code]).toEqual([403, 'forbidden']);
    });
  });

  describe('GET /v1/invites/mine', () => {
    let cmp: string;
    beforeAll(async () => {
      cmp = await inviteCampaign(h);
      const code = (await h.call('POST', '/v1/invites', { token: h.token('lister'), body: { campaignId: cmp } })).body
        .code;
      for (const u of ['f1', 'f2', 'f3', 'f4', 'f5'])
        expect((await h.call('POST', `/v1/invites/${code}/accept`, { token: h.token(u) })).status).toBe(201);
    });

    it('lists my invitees newest first, page by page', async () => {
      const token = h.token('lister');
      const seen: any[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `/v1/invites/mine?campaignId=${cmp}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const r = await h.call('GET', q, { token });
        expect(r.status).toBe(200);
        expect(r.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...r.body.items);
        cursor = r.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(seen.map((i) => i.inviteeId).sort()).toEqual(['f1', 'f2', 'f3', 'f4', 'f5']);
      for (const item of seen) {
        expect(item).toMatchObject({ status: 'qualified', rewarded: true });
        expect(item.acceptedAt).toBe(item.qualifiedAt);
      }
      const times = seen.map((i) => i.acceptedAt);
      expect([...times].sort().reverse()).toEqual(times);
    });

    it('shows another user nothing of mine', async () => {
      const r = await h.call('GET', `/v1/invites/mine?campaignId=${cmp}`, { token: h.token('f1') });
      expect(r.body).toEqual({ items: [], nextCursor: null });
    });

    it.each([
      ['no campaignId', ''],
      ['limit 0', `?campaignId=${'cmp_x'}&limit=0`],
      ['limit 101', '?campaignId=cmp_x&limit=101'],
      ['limit in hex', '?campaignId=cmp_x&limit=0x10'],
      ['limit in exponent form', '?campaignId=cmp_x&limit=1e1'],
      ['limit empty', '?campaignId=cmp_x&limit='],
      ['a forged cursor', '?campaignId=cmp_x&cursor=bm90LWEtY3Vyc29y'],
    ])('refuses %s with 400 validation_failed', async (_n, q) => {
      const r = await h.call('GET', `/v1/invites/mine${q}`, { token: h.token('lister') });
      expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
    });

    it('needs a user token', async () => {
      const anon = await h.call('GET', `/v1/invites/mine?campaignId=${cmp}`);
      expect([anon.status, anon.body.code]).toEqual([401, 'unauthorized']);
    });
  });
});
