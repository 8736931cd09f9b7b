import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settleClicks } from '#functions/links/background';
import { ManualClock, utcDay } from '#shared/clock';
import { randomCode } from '#shared/ids';
import { findLinks } from '#shared/store/links';
import { createHarness, type Harness } from '../../support/harness.ts';

const UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0';

describe('Links and the redirect', () => {
  let h: Harness;
  let kol: string;
  let campaignId: string;
  beforeAll(async () => {
    h = await createHarness({ env: { LOG_LEVEL: 'ERROR' } });
    kol = h.token('kol-1', ['user', 'kol']);
    const c = await h.call('POST', '/v1/admin/campaigns', {
      token: h.token('admin', ['admin']),
      body: { type: 'commission', title: 'KOL program', rules: { rateBps: 1000 } },
    });
    campaignId = c.body.id;
  });
  afterAll(settleClicks);

  const newLink = async (body: Record<string, unknown> = {}) =>
    h.call('POST', '/v1/links', { token: kol, body: { targetUrl: 'https://shop.example.com/p/1?x=1', ...body } });
  const click = (code: string, headers: Record<string, string> = {}) =>
    h.call('GET', `/s/${code}`, { headers: { 'user-agent': UA, ...headers } });

  it('creates a link with an unguessable code and its public URL', async () => {
    const r = await newLink({ campaignId, channel: 'douyin' });
    expect(r.status).toBe(201);
    expect(r.body.code).toMatch(/^[23456789abcdefghjkmnpqrstuvwxyz]{10}$/);
    expect(r.body).toMatchObject({
      url: `http://localhost:3000/s/${r.body.code}`,
      targetUrl: 'https://shop.example.com/p/1?x=1',
      campaignId,
      channel: 'douyin',
    });
  });

  it.each([
    ['http on a public host', 'http://shop.example.com/p'],
    ['a host off the allowlist', 'https://evil.example.net/p'],
    ['a subdomain of an allowed host', 'https://a.shop.example.com/p'],
    ['credentials', 'https://user:pw@shop.example.com/p'],
    ['userinfo hiding another host', 'https://shop.example.com@evil.example.net/'],
    ['javascript:', 'javascript:alert(1)'],
    ['data:', 'data:text/html,<script>1</script>'],
    ['a relative URL', '/p/1'],
    ['backslash tricks', 'https:\\\\evil.example.net'],
    ['ftp', 'ftp://shop.example.com/p'],
  ])('refuses %s with 400 target_not_allowed', async (_name, targetUrl) => {
    const r = await newLink({ targetUrl });
    expect([r.status, r.body.code]).toEqual([400, 'target_not_allowed']);
  });

  it('allows http for localhost and matches hosts case-insensitively', async () => {
    expect((await newLink({ targetUrl: 'http://localhost:5173/x' })).status).toBe(201);
    expect((await newLink({ targetUrl: 'https://SHOP.Example.com/x' })).status).toBe(201);
  });

  it('validates the body, the role and the campaign', async () => {
    expect((await newLink({ extra: 1 })).body.code).toBe('validation_failed');
    expect((await newLink({ targetUrl: 42 })).body.code).toBe('validation_failed');
    const user = await h.call('POST', '/v1/links', {
      token: h.token('u1'),
      body: { targetUrl: 'https://shop.example.com/' },
    });
    expect([user.status, user.body.code]).toEqual([403, 'forbidden']);
    const anon = await h.call('POST', '/v1/links', { body: { targetUrl: 'https://shop.example.com/' } });
    expect(anon.status).toBe(401);
    const missing = await newLink({ campaignId: 'cmp_missing' });
    expect([missing.status, missing.body.code]).toEqual([404, 'not_found']);
    const paused = await h.call('POST', '/v1/admin/campaigns', {
      token: h.token('admin', ['admin']),
      body: { type: 'commission', title: 'p', rules: { rateBps: 10 } },
    });
    await h.call('PATCH', `/v1/admin/campaigns/${paused.body.id}`, {
      token: h.token('admin', ['admin']),
      body: { status: 'paused' },
    });
    const inactive = await newLink({ campaignId: paused.body.id });
    expect([inactive.status, inactive.body.code]).toEqual([409, 'campaign_inactive']);
    const longDevice = await h.call('POST', '/v1/links', {
      token: h.token('kol-long-device', ['kol']),
      body: { targetUrl: 'https://shop.example.com/' },
      headers: { 'x-device-id': 'd'.repeat(129) },
    });
    expect([longDevice.status, longDevice.body.code]).toEqual([400, 'validation_failed']);
    const mine = await h.call('GET', '/v1/kol/links', { token: h.token('kol-long-device', ['kol']) });
    expect(mine.body.items).toEqual([]);
  });

  it('redirects with a token, no-store, and a visitor cookie when there is none', async () => {
    const { body: link } = await newLink({ campaignId });
    const r = await click(link.code);
    expect(r.status).toBe(302);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const location = new URL(r.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('https://shop.example.com/p/1');
    expect(location.searchParams.get('x')).toBe('1');
    expect(location.searchParams.get('fission_ref')).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const cookie = r.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^fission_vid=v[A-Za-z0-9_-]{27};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toMatch(/Max-Age=\d{8}/);
    const again = await click(link.code, { cookie: 'fission_vid=visitor-0001' });
    expect(again.status).toBe(302);
    expect(again.headers.get('set-cookie')).toBeNull();
  });

  it('sends a HEAD and a known bot on to the target as it is: no token, no cookie, no click', async () => {
    const { body: link } = await newLink();
    const head = await h.call('HEAD', `/s/${link.code}`, { headers: { 'user-agent': UA } });
    const bot = await click(link.code, { 'user-agent': 'facebookexternalhit/1.1' });
    for (const r of [head, bot]) {
      expect([r.status, r.headers.get('location'), r.headers.get('cache-control')]).toEqual([
        302,
        'https://shop.example.com/p/1?x=1',
        'no-store',
      ]);
      expect(r.headers.get('set-cookie')).toBeNull();
    }
    // A token the target carries itself is taken out, as it is replaced for people.
    const { body: planted } = await newLink({ targetUrl: 'https://shop.example.com/p/1?fission_ref=planted&x=1#top' });
    const fromBot = await click(planted.code, { 'user-agent': 'facebookexternalhit/1.1' });
    expect(fromBot.headers.get('location')).toBe('https://shop.example.com/p/1?x=1#top');
    await click(link.code, { cookie: 'fission_vid=head-check-2' });
    await settleClicks();
    const counts = (await h.call('GET', '/v1/kol/links', { token: kol, headers: {} })).body.items.find(
      (i: { code: string }) => i.code === link.code,
    );
    expect(counts).toMatchObject({ clicks: 1, uniqueClicks: 1 });
  });

  it('answers 404 for an unknown code', async () => {
    const r = await click('zzzzzzzzzz');
    expect([r.status, r.body.code]).toEqual([404, 'not_found']);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect((await click('NOT-A-CODE')).status).toBe(404);
  });

  it('is documented in the OpenAPI spec though it is served as a plain route before the API middleware', async () => {
    const spec = await h.call('GET', '/openapi.json');
    const op = spec.body.paths['/s/{code}']?.get;
    expect(op?.responses?.['302']).toBeDefined();
    expect(op?.parameters?.map((p: { name: string }) => p.name)).toEqual(['code']);
    const { body: link } = await newLink({ campaignId });
    const redirect = await click(link.code);
    expect(redirect.headers.get('x-request-id')).toBeNull();
    const api = await h.call('GET', '/v1/kol/links', { token: kol });
    expect(api.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('counts 2,000 concurrent clicks from 300 visitors as 2,000 clicks and 300 unique, bots excluded, read at once', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const dayOf = async () =>
      (await h.call('GET', `/v1/kol/stats?from=${today}&to=${today}`, { token: kol })).body.days[0] as {
        clicks: number;
        uniqueVisitors: number;
      };
    const before = await dayOf();
    const { body: link } = await newLink({ campaignId });
    const requests: (() => Promise<{ status: number }>)[] = [];
    for (let i = 0; i < 2000; i++) requests.push(() => click(link.code, { cookie: `fission_vid=v${i % 300}` }));
    for (let i = 0; i < 100; i++)
      requests.push(() =>
        click(link.code, {
          'user-agent': i % 2 ? 'Googlebot/2.1 (+http://www.google.com/bot.html)' : 'facebookexternalhit/1.1',
          cookie: `fission_vid=bot-visitor-${i}`,
        }),
      );
    const statuses: number[] = [];
    for (let i = 0; i < requests.length; i += 300) {
      const batch = await Promise.all(requests.slice(i, i + 300).map((f) => f()));
      statuses.push(...batch.map((r) => r.status));
    }
    // No settleClicks(): the stats routes wait for the caller's clicks still being written.
    expect(statuses.every((s) => s === 302)).toBe(true);
    const list = await h.call('GET', '/v1/kol/links?limit=100', { token: kol });
    const row = list.body.items.find((l: { code: string }) => l.code === link.code);
    expect(row).toMatchObject({ clicks: 2000, uniqueClicks: 300 });
    const after = await dayOf();
    expect([after.clicks - before.clicks, after.uniqueVisitors - before.uniqueVisitors]).toEqual([2000, 300]);
  }, 120_000);

  it('counts a KOL’s unique visitors per day over all their links: one visitor on two links, twice, is one', async () => {
    const kolB = h.token('kol-distinct', ['kol']);
    const made = await Promise.all(
      [1, 2].map(() =>
        h.call('POST', '/v1/links', { token: kolB, body: { targetUrl: 'https://shop.example.com/p/2' } }),
      ),
    );
    const [one, two] = made.map((r) => r.body.code as string);
    for (const code of [one!, two!, one!]) await click(code, { cookie: 'fission_vid=visitor-distinct' });
    // A first visit without a cookie, then the same person with the cookie it was given: one visitor.
    const first = await click(one!, { 'x-forwarded-for': '198.51.100.7' });
    const given = /fission_vid=([^;]+)/.exec(first.headers.get('set-cookie')!)![1];
    await click(two!, { cookie: `fission_vid=${given}` });
    const today = new Date().toISOString().slice(0, 10);
    const stats = await h.call('GET', `/v1/kol/stats?from=${today}&to=${today}`, { token: kolB });
    expect(stats.body.days).toEqual([expect.objectContaining({ date: today, clicks: 5, uniqueVisitors: 2 })]);
    const links = await h.call('GET', '/v1/kol/links', { token: kolB });
    const unique = Object.fromEntries(
      links.body.items.map((l: { code: string; uniqueClicks: number }) => [l.code, l.uniqueClicks]),
    );
    expect(unique).toEqual({ [one!]: 2, [two!]: 2 }); // per link: each visitor once within 30 minutes
  });

  it('counts each of 40 visitors once in a KOL’s day when they click three of its links at once, five times each', async () => {
    const kolC = h.token('kol-crowd', ['kol']);
    const codes = (
      await Promise.all(
        [1, 2, 3].map(() =>
          h.call('POST', '/v1/links', { token: kolC, body: { targetUrl: 'https://shop.example.com/p/3' } }),
        ),
      )
    ).map((r) => r.body.code as string);
    const clicks = codes.flatMap((code) =>
      Array.from({ length: 40 * 5 }, (_, i) => () => click(code, { cookie: `fission_vid=crowd-${i % 40}` })),
    );
    const answers = await Promise.all(clicks.map((go) => go()));
    expect(answers.every((r) => r.status === 302)).toBe(true);
    await settleClicks(); // every click written, however long a loaded machine takes (reads wait at most 20 s)
    const today = new Date().toISOString().slice(0, 10);
    const stats = await h.call('GET', `/v1/kol/stats?from=${today}&to=${today}`, { token: kolC });
    expect(stats.body.totals).toMatchObject({ clicks: 600, uniqueVisitors: 40 });
    const links = await h.call('GET', '/v1/kol/links', { token: kolC });
    expect(links.body.items.map((l: { uniqueClicks: number }) => l.uniqueClicks)).toEqual([40, 40, 40]);
  });

  it('takes the visitor cookie as sent, never percent-decoded: one with a % is no visitor id', async () => {
    const { body: link } = await newLink();
    const visitorOf = async (cookie: string) => {
      const r = await click(link.code, { cookie: `fission_vid=${cookie}` });
      const token = new URL(r.headers.get('location')!).searchParams.get('fission_ref')!;
      const payload = Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8');
      return { visitor: payload.split('~')[1], newCookie: r.headers.get('set-cookie') !== null };
    };
    expect(await visitorOf('vA')).toEqual({ visitor: 'vA', newCookie: false });
    const encoded = await visitorOf('v%41');
    expect(encoded.visitor).not.toBe('vA');
    expect(encoded.newCookie).toBe(true);
    // Quoted (RFC 6265), and of several the first that is a visitor id.
    expect(await visitorOf('"vQuoted"')).toEqual({ visitor: 'vQuoted', newCookie: false });
    expect(await visitorOf('bad%20; fission_vid=vSecond')).toEqual({ visitor: 'vSecond', newCookie: false });
  });

  it('counts a visitor without a cookie once per hash of their address (a proxy’s X-Forwarded-For locally) and User-Agent, and gives each a cookie of their own', async () => {
    const { body: link } = await newLink();
    const from = (ip: string, ua = UA) => click(link.code, { 'x-forwarded-for': `${ip}, 10.0.0.1`, 'user-agent': ua });
    const answers = [await from('203.0.113.1'), await from('203.0.113.1'), await from('203.0.113.2')];
    answers.push(await from('203.0.113.2', 'Mozilla/5.0 (Android)'));
    const cookies = answers.map((r) => /fission_vid=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1]);
    // Two people behind one address with the same browser are two visitors: a cookie each, never the address.
    expect(new Set(cookies).size).toBe(4);
    for (const c of cookies) expect(c).toMatch(/^v[A-Za-z0-9_-]{27}$/);
    const tokenVisitor = (r: { headers: Headers }) =>
      Buffer.from(new URL(r.headers.get('location')!).searchParams.get('fission_ref')!.split('.')[0]!, 'base64url')
        .toString('utf8')
        .split('~')[1];
    expect(answers.map(tokenVisitor)).toEqual(cookies);
    // The first visitor comes back with the cookie it was given: a repeat within its 30 minutes.
    await click(link.code, { cookie: `fission_vid=${cookies[0]}`, 'user-agent': UA });
    const list = await h.call('GET', '/v1/kol/links?limit=100', { token: kol });
    expect(list.body.items.find((l: { code: string }) => l.code === link.code)).toMatchObject({
      clicks: 5,
      uniqueClicks: 3,
    });
  });

  it('accepts none of 10,000 mutated link codes (store lookups) nor a sample of 200 through HTTP', async () => {
    const { body: link } = await newLink();
    const alphabet = '23456789abcdefghjkmnpqrstuvwxyz';
    const mutate = (code: string) => {
      const chars = [...code];
      const n = 1 + Math.floor(Math.random() * 3);
      for (let k = 0; k < n; k++)
        chars[Math.floor(Math.random() * chars.length)] = alphabet[Math.floor(Math.random() * 31)]!;
      const m = chars.join('');
      return m === code ? randomCode(10) : m;
    };
    const codes = Array.from({ length: 10_000 }, () => mutate(link.code)).filter((c) => c !== link.code);
    expect(codes.length).toBe(10_000);
    const chunks = Array.from({ length: 100 }, (_, i) => codes.slice(i * 100, i * 100 + 100));
    const found = await Promise.all(chunks.map((c) => findLinks(h.deps.store, c)));
    expect(found.reduce((n, m) => n + m.size, 0)).toBe(0);
    const sample = await Promise.all(codes.slice(0, 200).map((c) => click(c)));
    expect(sample.every((r) => r.status === 404)).toBe(true);
  });

  it('lists only the caller’s links, newest first, with cursor paging', async () => {
    const other = h.token('kol-2', ['kol']);
    await h.call('POST', '/v1/links', { token: other, body: { targetUrl: 'https://shop.example.com/k2' } });
    const page = await h.call('GET', '/v1/kol/links?limit=2', { token: other });
    expect(page.body.items).toHaveLength(1);
    expect(page.body.items[0]).toMatchObject({ targetUrl: 'https://shop.example.com/k2', clicks: 0, uniqueClicks: 0 });
    const mine = await h.call('GET', '/v1/kol/links?limit=2', { token: kol });
    expect(mine.body.items).toHaveLength(2);
    expect(mine.body.nextCursor).toEqual(expect.any(String));
    const next = await h.call('GET', `/v1/kol/links?limit=2&cursor=${mine.body.nextCursor}`, { token: kol });
    expect(next.body.items[0].createdAt <= mine.body.items[1].createdAt).toBe(true);
    expect((await h.call('GET', '/v1/kol/links?limit=0', { token: kol })).status).toBe(400);
    expect((await h.call('GET', '/v1/kol/links', { token: h.token('u9') })).status).toBe(403);
  });

  it('validates the KOL stats range', async () => {
    const bad = async (q: string) => (await h.call('GET', `/v1/kol/stats?${q}`, { token: kol })).body.code;
    expect(await bad('from=2026-11-25&to=2026-11-24')).toBe('validation_failed');
    expect(await bad('from=2025-01-01&to=2026-01-02')).toBe('validation_failed');
    expect(await bad('from=2026-02-30&to=2026-03-01')).toBe('validation_failed');
    expect(await bad('from=2026-1-1&to=2026-01-02')).toBe('validation_failed');
    // Without `to`, today (UTC): a `from` after it, or over 366 days before it, is refused too.
    expect(await bad('from=2099-01-01')).toBe('validation_failed');
    expect(await bad('from=2020-01-01')).toBe('validation_failed');
    const month = await h.call('GET', '/v1/kol/stats', { token: kol });
    expect([month.status, month.body.days.length, month.body.days.at(-1).date]).toEqual([
      200,
      30,
      utcDay(h.clock.now()),
    ]);
    const ending = await h.call('GET', '/v1/kol/stats?to=2026-01-02', { token: kol });
    expect([ending.body.days.length, ending.body.days[0].date]).toEqual([30, '2025-12-04']);
    const year = await h.call('GET', '/v1/kol/stats?from=2024-01-01&to=2024-12-31', { token: kol });
    expect(year.status).toBe(200);
    expect(year.body.days).toHaveLength(366);
    expect(year.body.totals).toEqual({ clicks: 0, uniqueVisitors: 0, conversions: 0, gmv: 0, commission: 0 });
  });
});

describe('A KOL’s unique visitors across midnight (UTC)', () => {
  it('counts a visitor on each day they click, also when the second click repeats the first within 30 minutes', async () => {
    const clock = new ManualClock(Date.parse('2026-03-01T23:50:00.000Z'));
    const h = await createHarness({ clock, env: { LOG_LEVEL: 'ERROR' } });
    const kol = h.token('kol-midnight', ['kol']);
    const { body: link } = await h.call('POST', '/v1/links', {
      token: kol,
      body: { targetUrl: 'https://shop.example.com/p/4' },
    });
    const click = () =>
      h.call('GET', `/s/${link.code}`, { headers: { 'user-agent': UA, cookie: 'fission_vid=night-owl' } });
    expect((await click()).status).toBe(302);
    clock.advance(20 * 60); // 00:10 the next day: within the 30 minutes of the counted click
    expect((await click()).status).toBe(302);
    const stats = await h.call('GET', '/v1/kol/stats?from=2026-03-01&to=2026-03-02', { token: kol });
    expect(stats.body.days).toEqual([
      expect.objectContaining({ date: '2026-03-01', clicks: 1, uniqueVisitors: 1 }),
      expect.objectContaining({ date: '2026-03-02', clicks: 1, uniqueVisitors: 1 }),
    ]);
    const links = await h.call('GET', '/v1/kol/links', { token: kol });
    expect(links.body.items).toEqual([expect.objectContaining({ clicks: 2, uniqueClicks: 1 })]);
  });
});
