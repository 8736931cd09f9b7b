import { beforeAll, describe, expect, it } from 'vitest';
import { settleClicks } from '#functions/links/background';
import { iso } from '#shared/clock';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { clickAs, commissionCampaign, kolLink, pendingEvents } from './support.ts';

const HOUR = 3600;

/**
 * The attribution table: each row sets up clicks at given minutes (ManualClock) and then a paid
 * order, and names the link that must get it (or none).
 */
describe('Order attribution', () => {
  let h: Harness;
  let clock: ManualClock;
  const links: Record<string, string> = {};
  let row = 0;

  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
    const last = await commissionCampaign(h, { rateBps: 1000, model: 'last_click', attributionWindowSeconds: HOUR });
    const first = await commissionCampaign(h, { rateBps: 500, model: 'first_click', attributionWindowSeconds: HOUR });
    const invite = await h.call('POST', '/v1/admin/campaigns', {
      token: h.token('admin', ['admin']),
      body: {
        type: 'invite',
        title: 'not commission',
        rules: {
          inviterReward: { asset: 'points', amount: 1 },
          inviteeReward: { asset: 'points', amount: 1 },
          qualifyingAction: 'signup',
        },
      },
    });
    links.lastA = await kolLink(h, 'kol-a', last);
    links.lastB = await kolLink(h, 'kol-b', last);
    links.firstA = await kolLink(h, 'kol-a', first);
    links.firstB = await kolLink(h, 'kol-b', first);
    links.plain = await kolLink(h, 'kol-c');
    links.other = await kolLink(h, 'kol-c', invite.body.id);
  });

  type Step = { at: number; link: keyof typeof links; as?: 'visitor' | 'user' | 'other-visitor' };
  /** `n` clicks on `link`, 0.6 s apart from minute `from` on. */
  const many = (n: number, link: keyof typeof links, from: number): Step[] =>
    Array.from({ length: n }, (_, i) => ({ at: from + i / 100, link }));
  const table: {
    name: string;
    clicks: Step[];
    payAt: number;
    send: { token?: 'first' | 'last' | 'forged' | 'altered'; visitor?: boolean };
    expect: keyof typeof links | null;
  }[] = [
    {
      name: 'last-click finds a commission click between 60 clicks on other links on each side',
      clicks: [...many(30, 'plain', 0), ...many(30, 'other', 1), { at: 2, link: 'lastA' }, ...many(60, 'plain', 3)],
      payAt: 10,
      send: { visitor: true },
      expect: 'lastA',
    },
    {
      name: 'first-click finds the oldest commission click behind 60 clicks on other links',
      clicks: [...many(60, 'other', 0), { at: 2, link: 'firstA' }, ...many(60, 'firstB', 3)],
      payAt: 10,
      send: { visitor: true },
      expect: 'firstA',
    },
    {
      name: 'last-click takes the newest click',
      clicks: [
        { at: 0, link: 'lastA' },
        { at: 10, link: 'lastB' },
      ],
      payAt: 20,
      send: { visitor: true },
      expect: 'lastB',
    },
    {
      name: 'first-click takes the oldest click',
      clicks: [
        { at: 0, link: 'firstA' },
        { at: 10, link: 'firstB' },
      ],
      payAt: 20,
      send: { visitor: true },
      expect: 'firstA',
    },
    {
      name: 'a click outside the window is ignored',
      clicks: [{ at: 0, link: 'lastA' }],
      payAt: 61,
      send: { visitor: true },
      expect: null,
    },
    {
      name: 'only the click inside the window counts',
      clicks: [
        { at: 0, link: 'lastA' },
        { at: 30, link: 'lastB' },
      ],
      payAt: 70,
      send: { visitor: true },
      expect: 'lastB',
    },
    {
      name: 'first-click skips clicks that left the window',
      clicks: [
        { at: 0, link: 'firstA' },
        { at: 30, link: 'firstB' },
      ],
      payAt: 70,
      send: { visitor: true },
      expect: 'firstB',
    },
    {
      name: 'a token alone attributes inside the window',
      clicks: [{ at: 0, link: 'lastA', as: 'other-visitor' }],
      payAt: 50,
      send: { token: 'last' },
      expect: 'lastA',
    },
    {
      name: 'an expired token is ignored',
      clicks: [{ at: 0, link: 'lastA', as: 'other-visitor' }],
      payAt: 61,
      send: { token: 'last' },
      expect: null,
    },
    {
      name: 'a newer history click beats an older token (last-click)',
      clicks: [
        { at: 0, link: 'lastA', as: 'other-visitor' },
        { at: 5, link: 'lastB' },
      ],
      payAt: 10,
      send: { token: 'first', visitor: true },
      expect: 'lastB',
    },
    {
      name: 'a newer token beats older history (last-click)',
      clicks: [
        { at: 0, link: 'lastB' },
        { at: 5, link: 'lastA', as: 'other-visitor' },
      ],
      payAt: 10,
      send: { token: 'last', visitor: true },
      expect: 'lastA',
    },
    {
      name: 'a forged token is ignored',
      clicks: [{ at: 0, link: 'lastA', as: 'other-visitor' }],
      payAt: 5,
      send: { token: 'forged' },
      expect: null,
    },
    {
      name: 'an altered token is ignored, history still counts',
      clicks: [
        { at: 0, link: 'lastA', as: 'other-visitor' },
        { at: 1, link: 'lastB' },
      ],
      payAt: 5,
      send: { token: 'altered', visitor: true },
      expect: 'lastB',
    },
    {
      name: 'a signed-in user’s click attributes by userId',
      clicks: [{ at: 0, link: 'lastA', as: 'user' }],
      payAt: 5,
      send: {},
      expect: 'lastA',
    },
    {
      name: 'last-click: a repeat click on an earlier link within 30 minutes is the newest click',
      clicks: [
        { at: 0, link: 'lastA' },
        { at: 5, link: 'lastB' },
        { at: 10, link: 'lastA' },
      ],
      payAt: 15,
      send: { visitor: true },
      expect: 'lastA',
    },
    {
      name: 'a signed-in repeat of an anonymous click attributes by userId',
      clicks: [
        { at: 0, link: 'lastB' },
        { at: 2, link: 'lastB', as: 'user' },
      ],
      payAt: 5,
      send: {},
      expect: 'lastB',
    },
    {
      name: 'a link without a campaign tracks but earns nothing',
      clicks: [{ at: 0, link: 'plain' }],
      payAt: 5,
      send: { visitor: true },
      expect: null,
    },
    {
      name: 'a link of a non-commission campaign earns nothing',
      clicks: [{ at: 0, link: 'other' }],
      payAt: 5,
      send: { visitor: true },
      expect: null,
    },
    {
      name: 'a click after the payment does not count',
      clicks: [{ at: 20, link: 'lastA' }],
      payAt: 10,
      send: { visitor: true },
      expect: null,
    },
  ];

  it.each(table)(
    '$name',
    async (t) => {
      row++;
      const start = clock.now() + 24 * HOUR * 1000;
      const visitor = `v${row}`; // a frontend's own short visitor id, as the cookie and the webhook carry it
      const user = `buyer-row-${row}`;
      const tokens: string[] = [];
      const steps = [...t.clicks].sort((a, b) => a.at - b.at);
      let paid = false;
      const pay = async () => {
        clock.set(start + t.payAt * 60_000);
        let token: string | undefined;
        if (t.send.token === 'first') token = tokens[0];
        if (t.send.token === 'last') token = tokens[tokens.length - 1];
        if (t.send.token === 'forged')
          token = `${Buffer.from(`${links.lastA}~${visitor}~${clock.now()}`).toString('base64url')}.${'A'.repeat(43)}`;
        if (t.send.token === 'altered') {
          const [p, s] = tokens[0]!.split('.') as [string, string];
          const payload = Buffer.from(p, 'base64url').toString().replace(links.lastA!, links.lastB!);
          token = `${Buffer.from(payload).toString('base64url')}.${s}`;
        }
        const r = await h.hook('/v1/orders/paid', {
          orderId: `order-row-${row}`,
          userId: user,
          amount: 10000,
          paidAt: iso(clock.now()),
          ...(token ? { attributionToken: token } : {}),
          ...(t.send.visitor ? { visitorId: visitor } : {}),
        });
        paid = true;
        return r;
      };
      let answer: Awaited<ReturnType<typeof pay>> | undefined;
      for (const s of steps) {
        if (!paid && s.at > t.payAt) answer = await pay();
        clock.set(start + s.at * 60_000);
        const who = s.as === 'other-visitor' ? `${visitor}-x` : visitor;
        tokens.push(await clickAs(h, links[s.link]!, who, s.as === 'user' ? { token: h.token(user) } : {}));
      }
      if (!paid) answer = await pay();
      expect(answer!.status).toBe(201);
      if (t.expect === null) expect(answer!.body).toEqual({ orderId: `order-row-${row}`, attributed: false });
      else {
        expect(answer!.body).toMatchObject({ attributed: true, linkCode: links[t.expect] });
        expect(answer!.body.commission).toBe(t.expect.startsWith('first') ? 500 : 1000);
      }
    },
    180_000,
  ); // a row clicks up to 121 times, one fully recorded click after another

  it('gives two people behind one carrier IP on the same app, neither sending a cookie, a visitor each', async () => {
    clock.set(clock.now() + 24 * HOUR * 1000);
    const redirect = (code: string) => h.call('GET', `/s/${code}`, { headers: { 'user-agent': 'WeChat/8.0 shared' } });
    const a = await redirect(links.lastA!);
    clock.set(clock.now() + 60_000);
    const b = await redirect(links.lastB!);
    const visitorOf = (r: typeof a) => /fission_vid=([^;]+)/.exec(r.headers.get('set-cookie')!)![1];
    expect(visitorOf(a)).not.toBe(visitorOf(b));
    await settleClicks();
    const pay = (orderId: string, extra: Record<string, unknown>) =>
      h.hook('/v1/orders/paid', {
        orderId,
        userId: `buyer-${orderId}`,
        amount: 10000,
        paidAt: iso(clock.now()),
        ...extra,
      });
    // A's order is A's link, though B clicked the other link from the same address a minute later.
    expect((await pay('carrier-1', { visitorId: visitorOf(a) })).body).toMatchObject({ linkCode: links.lastA });
    expect((await pay('carrier-2', { visitorId: visitorOf(b) })).body).toMatchObject({ linkCode: links.lastB });
    const tokenA = new URL(a.headers.get('location')!).searchParams.get('fission_ref');
    expect((await pay('carrier-3', { attributionToken: tokenA })).body).toMatchObject({ linkCode: links.lastA });
  });

  it('takes the token’s own click for its device, not a click of its shared visitor half a second before', async () => {
    const cmp = await commissionCampaign(h, { rateBps: 1000 });
    const code = await kolLink(h, 'kol-own', cmp, { 'x-device-id': 'device-kol' });
    clock.set(clock.now() + 24 * HOUR * 1000);
    // Two people behind one carrier IP on the same app, no cookie.
    const redirect = (device: string) =>
      h.call('GET', `/s/${code}`, { headers: { 'user-agent': 'WeChat/8.0 own', 'x-device-id': device } });
    await redirect('device-kol'); // the KOL checks their own link
    clock.set(clock.now() + 500);
    const buyer = await redirect('device-buyer'); // half a second later an unrelated buyer follows it
    await settleClicks();
    const token = new URL(buyer.headers.get('location')!).searchParams.get('fission_ref')!;
    const r = await h.hook('/v1/orders/paid', {
      orderId: 'o-own-1',
      userId: 'buyer-own-1',
      amount: 10000,
      paidAt: iso(clock.now()),
      attributionToken: token,
    });
    expect(r.body).toMatchObject({ attributed: true, linkCode: code });
    const attributed = (await pendingEvents(h, 'OrderAttributed')).find((e) => e.detail.orderId === 'o-own-1');
    expect(attributed?.detail.held).toBe(false); // the buyer's device is not the KOL's
  });
});
