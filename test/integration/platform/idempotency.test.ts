import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '#shared/http/app';
import { requireAuth } from '#shared/http/auth';
import { IDEMPOTENCY_KEEP_SECONDS, idempotency } from '#shared/http/idempotency';
import { bargainHelpKey, idempotencyKey, linkKey } from '#shared/store/keys';
import { Store } from '#shared/store/store';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createBargainCampaign, outboxEvents, startChain } from '../bargains/support.ts';
import { createGroupCampaign } from '../group-buys/support.ts';
import { inviteCampaign } from '../invites/support.ts';

const rules = { sku: 'sku-1', originalPrice: 2000, floorPrice: 500, helpersRequired: 3, durationSeconds: 600 };

async function campaignsTitled(h: Harness, title: string): Promise<number> {
  const all = await h.deps.store.queryAll({ index: 'gsi1', pk: 'CAMPAIGNS#bargain' });
  return all.filter((i) => i.title === title).length;
}

describe('Middleware: idempotency', () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness();
    admin = h.token('admin-idem', ['admin']);
  });

  it('replays the first answer byte for byte and creates the campaign once', async () => {
    const body = { type: 'bargain', title: 'idem-replay', rules };
    const headers = { 'idempotency-key': 'k-replay' };
    const first = await h.call('POST', '/v1/admin/campaigns', { token: admin, body, headers });
    const second = await h.call('POST', '/v1/admin/campaigns', { token: admin, body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(await campaignsTitled(h, 'idem-replay')).toBe(1);
  });

  it('treats the same JSON in another key order as the same body', async () => {
    const headers = { 'idempotency-key': 'k-order' };
    const a = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      raw: JSON.stringify({ type: 'bargain', title: 'idem-order', rules }),
      headers: { ...headers, 'content-type': 'application/json' },
    });
    const b = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      raw: JSON.stringify({ rules, title: 'idem-order', type: 'bargain' }),
      headers: { ...headers, 'content-type': 'application/json' },
    });
    expect(b.text).toBe(a.text);
    expect(await campaignsTitled(h, 'idem-order')).toBe(1);
  });

  it('answers 422 idempotency_key_reused for the same key with another body, and writes nothing', async () => {
    const headers = { 'idempotency-key': 'k-reuse' };
    await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'bargain', title: 'idem-a', rules },
      headers,
    });
    const r = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'bargain', title: 'idem-b', rules },
      headers,
    });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('idempotency_key_reused');
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(await campaignsTitled(h, 'idem-b')).toBe(0);
  });

  it('scopes keys by caller: another admin with the same key gets its own campaign', async () => {
    const body = { type: 'bargain', title: 'idem-scope', rules };
    const headers = { 'idempotency-key': 'k-scope' };
    const a = await h.call('POST', '/v1/admin/campaigns', { token: admin, body, headers });
    const b = await h.call('POST', '/v1/admin/campaigns', { token: h.token('admin-2', ['admin']), body, headers });
    expect(a.body.id).not.toBe(b.body.id);
    expect(await campaignsTitled(h, 'idem-scope')).toBe(2);
  });

  it('refuses an empty or over-long key with 400', async () => {
    const body = { type: 'bargain', title: 'idem-long', rules };
    for (const key of ['', 'x'.repeat(256)]) {
      const r = await h.call('POST', '/v1/admin/campaigns', {
        token: admin,
        body,
        headers: { 'idempotency-key': key },
      });
      expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
    }
    expect(await campaignsTitled(h, 'idem-long')).toBe(0);
  });

  it('counts a key in characters: a UTF-8 key as Node reads it (one character per byte) is the key its sender wrote', async () => {
    const asNodeReadsIt = (key: string) => Buffer.from(key, 'utf8').toString('latin1');
    const body = { type: 'bargain', title: 'idem-utf8', rules };
    const key = `${'订'.repeat(250)}-单号`; // 253 characters, 755 bytes
    const first = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body,
      headers: { 'idempotency-key': asNodeReadsIt(key) },
    });
    const again = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body,
      headers: { 'idempotency-key': asNodeReadsIt(key) },
    });
    expect([first.status, again.status, again.text]).toEqual([201, 201, first.text]);
    expect(await campaignsTitled(h, 'idem-utf8')).toBe(1);
    const tooLong = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { ...body, title: 'idem-utf8-long' },
      headers: { 'idempotency-key': asNodeReadsIt('订'.repeat(256)) },
    });
    expect([tooLong.status, tooLong.body.code]).toEqual([400, 'validation_failed']);
  });

  describe('a request whose first attempt committed but never recorded its answer (a crash, a timeout)', () => {
    /** Leaves the key's record as a crash would: claimed, never completed, its lock run out. */
    const crashAfterCommit = (user: string, path: string, key: string) =>
      h.deps.store.update({
        key: idempotencyKey(`user:${user}#POST ${path}#${key}`),
        update: 'SET #status = :running, lockExpiresAt = :past REMOVE responseBody, responseStatus',
        condition: '#status = :completed',
        names: { '#status': 'status' },
        values: { ':running': 'in_progress', ':past': 0, ':completed': 'completed' },
      });

    it('answers a retried link with the link the first attempt made, and makes no second', async () => {
      const kol = h.token('kol-crash', ['kol']);
      const body = { targetUrl: 'https://shop.example.com/p/crash', channel: 'wechat' };
      const headers = { 'idempotency-key': 'link-crash' };
      const first = await h.call('POST', '/v1/links', { token: kol, body, headers });
      await crashAfterCommit('kol-crash', '/v1/links', 'link-crash');
      const retry = await h.call('POST', '/v1/links', { token: kol, body, headers });
      expect([first.status, retry.status]).toEqual([201, 201]);
      expect(retry.body).toEqual(first.body);
      const mine = await h.call('GET', '/v1/kol/links', { token: kol });
      expect(mine.body.items.map((l: { code: string }) => l.code)).toEqual([first.body.code]);
    });

    it('answers a retried share with the share the first attempt made, and makes no second', async () => {
      const owner = h.token('sharer-crash');
      const body = { objectType: 'product', objectId: 'sku-crash', channel: 'moments' };
      const headers = { 'idempotency-key': 'share-crash' };
      const first = await h.call('POST', '/v1/shares', { token: owner, body, headers });
      await crashAfterCommit('sharer-crash', '/v1/shares', 'share-crash');
      const retry = await h.call('POST', '/v1/shares', { token: owner, body, headers });
      expect([first.status, retry.status]).toEqual([201, 201]);
      expect(retry.body).toEqual(first.body);
      const stats = await h.call('GET', '/v1/shares/stats?objectType=product&objectId=sku-crash', { token: owner });
      expect(stats.body.shares).toBe(1);
    });

    it('answers a retried campaign with the campaign the first attempt made, and makes no second', async () => {
      const body = { type: 'bargain', title: 'idem-crash', rules };
      const headers = { 'idempotency-key': 'campaign-crash' };
      const first = await h.call('POST', '/v1/admin/campaigns', { token: admin, body, headers });
      await crashAfterCommit('admin-idem', '/v1/admin/campaigns', 'campaign-crash');
      const retry = await h.call('POST', '/v1/admin/campaigns', { token: admin, body, headers });
      expect([first.status, retry.status]).toEqual([201, 201]);
      expect(retry.body).toEqual(first.body);
      expect(await campaignsTitled(h, 'idem-crash')).toBe(1);
    });

    it('answers a retried help with the help that landed, and helps once', async () => {
      const campaignId = await createBargainCampaign(h);
      const chain = await startChain(h, campaignId, 'init-crash');
      const helper = h.token('helper-crash');
      const headers = { 'idempotency-key': 'help-crash' };
      const path = `/v1/bargains/${chain.id}/helps`;
      const first = await h.call('POST', path, { token: helper, headers });
      await crashAfterCommit('helper-crash', path, 'help-crash');
      const retry = await h.call('POST', path, { token: helper, headers });
      expect([first.status, retry.status]).toEqual([201, 201]);
      expect(retry.body).toEqual(first.body);
      const other = await h.call('POST', path, { token: helper, headers: { 'idempotency-key': 'help-other' } });
      expect([other.status, other.body.code]).toEqual([409, 'already_helped']);
      const seen = await h.call('GET', `/v1/bargains/${chain.id}`, { token: helper });
      expect([seen.body.helperCount, seen.body.helpers.length]).toEqual([1, 1]);
      expect((await outboxEvents(h, chain.id)).filter((e) => e.type === 'BargainHelped')).toHaveLength(1);

      // The key again after its record expired is a new request: the help is already there.
      await h.deps.store.delete(idempotencyKey(`user:helper-crash#POST ${path}#help-crash`));
      await h.deps.store.update({
        key: bargainHelpKey(chain.id, 'helper-crash'),
        update: 'SET helpedAt = :old',
        values: { ':old': new Date(Date.now() - (IDEMPOTENCY_KEEP_SECONDS + 60) * 1000).toISOString() },
      });
      const later = await h.call('POST', path, { token: helper, headers });
      expect([later.status, later.body.code]).toEqual([409, 'already_helped']);
    });

    it('answers a retried bargain start with 201 and the chain it started, also after helps; a repeat without the key gets 200', async () => {
      const campaignId = await createBargainCampaign(h, { helpersRequired: 3 });
      const starter = h.token('starter-crash');
      const headers = { 'idempotency-key': 'start-crash' };
      const first = await h.call('POST', '/v1/bargains', { token: starter, body: { campaignId }, headers });
      await crashAfterCommit('starter-crash', '/v1/bargains', 'start-crash');
      expect(
        (await h.call('POST', `/v1/bargains/${first.body.id}/helps`, { token: h.token('crash-help') })).status,
      ).toBe(201);
      const retry = await h.call('POST', '/v1/bargains', { token: starter, body: { campaignId }, headers });
      expect([first.status, retry.status, retry.body.id, retry.body.helperCount]).toEqual([201, 201, first.body.id, 1]);
      const repeat = await h.call('POST', '/v1/bargains', { token: starter, body: { campaignId } });
      expect([repeat.status, repeat.body.id]).toEqual([200, first.body.id]);
      // Helped to completion (which frees the user for a new chain), the retry still answers its own.
      for (const helper of ['crash-help-2', 'crash-help-3'])
        expect((await h.call('POST', `/v1/bargains/${first.body.id}/helps`, { token: h.token(helper) })).status).toBe(
          201,
        );
      await crashAfterCommit('starter-crash', '/v1/bargains', 'start-crash'); // the retry's answer lost too
      const late = await h.call('POST', '/v1/bargains', { token: starter, body: { campaignId }, headers });
      expect([late.status, late.body.id, late.body.status]).toEqual([201, first.body.id, 'completed']);
      const fresh = await h.call('POST', '/v1/bargains', { token: starter, body: { campaignId } });
      expect(fresh.status).toBe(201);
      expect(fresh.body.id).not.toBe(first.body.id);
    });

    it('answers a retried purchase with 201 and the entitlement it bought; a repeat without the key gets 200', async () => {
      const campaignId = await createBargainCampaign(h, { helpersRequired: 1, allowBuyAtCurrentPrice: true });
      const buyer = h.token('buyer-crash');
      const chain = (await h.call('POST', '/v1/bargains', { token: buyer, body: { campaignId } })).body;
      const path = `/v1/bargains/${chain.id}/purchase`;
      const headers = { 'idempotency-key': 'purchase-crash' };
      const first = await h.call('POST', path, { token: buyer, headers });
      await crashAfterCommit('buyer-crash', path, 'purchase-crash');
      const retry = await h.call('POST', path, { token: buyer, headers });
      expect([first.status, retry.status]).toEqual([201, 201]);
      expect(retry.body).toEqual(first.body);
      const repeat = await h.call('POST', path, { token: buyer });
      expect([repeat.status, repeat.body]).toEqual([200, first.body]);
      const events = (await outboxEvents(h, chain.id)).filter((e) => e.type === 'BargainPurchased');
      expect(events).toHaveLength(1);
    });

    it('answers a retried invite code request with 201 and the code it made; a repeat without the key gets 200', async () => {
      const campaignId = await inviteCampaign(h);
      const inviter = h.token('code-crash');
      const headers = { 'idempotency-key': 'code-crash' };
      const first = await h.call('POST', '/v1/invites', { token: inviter, body: { campaignId }, headers });
      await crashAfterCommit('code-crash', '/v1/invites', 'code-crash');
      const retry = await h.call('POST', '/v1/invites', { token: inviter, body: { campaignId }, headers });
      expect([first.status, retry.status]).toEqual([201, 201]);
      expect(retry.body).toEqual(first.body);
      const repeat = await h.call('POST', '/v1/invites', { token: inviter, body: { campaignId } });
      expect([repeat.status, repeat.body]).toEqual([200, first.body]);
    });

    it('answers a retried group open with 201 and the group it opened, and opens one; a repeat without the key gets 200', async () => {
      const campaignId = await createGroupCampaign(h);
      const leader = h.token('opener-crash');
      const body = { campaignId, orderId: 'o-opener-crash' };
      const headers = { 'idempotency-key': 'open-crash' };
      const first = await h.call('POST', '/v1/group-buys', { token: leader, body, headers });
      await crashAfterCommit('opener-crash', '/v1/group-buys', 'open-crash');
      const retry = await h.call('POST', '/v1/group-buys', { token: leader, body, headers });
      expect([first.status, retry.status, retry.body.id]).toEqual([201, 201, first.body.id]);
      const repeat = await h.call('POST', '/v1/group-buys', { token: leader, body });
      expect([repeat.status, repeat.body.id]).toEqual([200, first.body.id]);
      const otherKey = await h.call('POST', '/v1/group-buys', {
        token: leader,
        body,
        headers: { 'idempotency-key': 'open-other' },
      });
      expect([otherKey.status, otherKey.body.id]).toEqual([200, first.body.id]);
    });

    it('answers a retried join with the answer it gave, and joins once', async () => {
      const campaignId = await createGroupCampaign(h);
      const opened = await h.call('POST', '/v1/group-buys', {
        token: h.token('leader-crash'),
        body: { campaignId, orderId: 'o-leader-crash' },
      });
      const path = `/v1/group-buys/${opened.body.id}/members`;
      const member = h.token('member-crash');
      const body = { orderId: 'o-member-crash' };
      const headers = { 'idempotency-key': 'join-crash' };
      const first = await h.call('POST', path, { token: member, body, headers });
      await crashAfterCommit('member-crash', path, 'join-crash');
      // Another member fills the group before the retry: the retry still answers its own join.
      const filler = await h.call('POST', path, {
        token: h.token('filler-crash'),
        body: { orderId: 'o-filler-crash' },
      });
      expect(filler.body).toMatchObject({ memberCount: 3, status: 'formed' });
      const retry = await h.call('POST', path, { token: member, body, headers });
      expect([first.status, retry.status]).toEqual([201, 201]);
      expect(retry.body).toEqual(first.body);
      expect(first.body).toMatchObject({ memberCount: 2, status: 'open' });
      const other = await h.call('POST', path, { token: member, body, headers: { 'idempotency-key': 'join-other' } });
      expect([other.status, other.body.code]).toEqual([409, 'already_member']);
      const group = await h.call('GET', `/v1/group-buys/${opened.body.id}`, { token: member });
      expect([group.body.memberCount, group.body.members.length]).toEqual([3, 3]);
    });

    it('answers a retried accept with the binding it made, and binds once', async () => {
      const campaignId = await inviteCampaign(h);
      const code = await h.call('POST', '/v1/invites', { token: h.token('inviter-crash'), body: { campaignId } });
      const path = `/v1/invites/${code.body.code}/accept`;
      const invitee = h.token('invitee-crash');
      const headers = { 'idempotency-key': 'accept-crash' };
      const first = await h.call('POST', path, { token: invitee, headers });
      await crashAfterCommit('invitee-crash', path, 'accept-crash');
      const retry = await h.call('POST', path, { token: invitee, headers });
      expect([first.status, retry.status]).toEqual([201, 201]);
      expect(retry.body).toEqual(first.body);
      const other = await h.call('POST', path, { token: invitee, headers: { 'idempotency-key': 'accept-other' } });
      expect([other.status, other.body.code]).toEqual([409, 'already_invited']);
      // The campaign paused since: the retry still answers the accept that landed.
      await h.call('PATCH', `/v1/admin/campaigns/${campaignId}`, { token: admin, body: { status: 'paused' } });
      await crashAfterCommit('invitee-crash', path, 'accept-crash');
      const afterPause = await h.call('POST', path, { token: invitee, headers });
      expect([afterPause.status, afterPause.body]).toEqual([201, first.body]);
      const mine = await h.call('GET', `/v1/invites/mine?campaignId=${campaignId}`, {
        token: h.token('inviter-crash'),
      });
      expect(mine.body.items.map((i: { inviteeId: string }) => i.inviteeId)).toEqual(['invitee-crash']);
    });

    it('makes a new link when the key comes back after its record has expired', async () => {
      const kol = h.token('kol-later', ['kol']);
      const body = { targetUrl: 'https://shop.example.com/p/later' };
      const headers = { 'idempotency-key': 'link-later' };
      const first = await h.call('POST', '/v1/links', { token: kol, body, headers });
      // As 25 h later: the record gone, the link older than any record of its key.
      await h.deps.store.delete(idempotencyKey('user:kol-later#POST /v1/links#link-later'));
      await h.deps.store.update({
        key: linkKey(first.body.code),
        update: 'SET createdAt = :old',
        values: { ':old': new Date(Date.now() - (IDEMPOTENCY_KEEP_SECONDS + 60) * 1000).toISOString() },
      });
      const later = await h.call('POST', '/v1/links', { token: kol, body, headers });
      expect([later.status, later.headers.get('idempotent-replayed')]).toEqual([201, null]);
      expect(later.body.code).not.toBe(first.body.code);
    });
  });

  it('has exactly one effect for 50 concurrent requests with one key', async () => {
    const body = { type: 'bargain', title: 'idem-50', rules };
    const rs = await Promise.all(
      Array.from({ length: 50 }, () =>
        h.call('POST', '/v1/admin/campaigns', { token: admin, body, headers: { 'idempotency-key': 'k-50' } }),
      ),
    );
    expect(await campaignsTitled(h, 'idem-50')).toBe(1);
    const created = rs.filter((r) => r.status === 201);
    const running = rs.filter((r) => r.status === 409);
    expect(created.length + running.length).toBe(50);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    for (const r of running)
      expect([r.body.code, r.headers.get('retry-after')]).toEqual(['idempotency_in_progress', '1']);
  });

  it('answers 409 idempotency_in_progress while the first request runs, then replays', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let effects = 0;
    const app = createApp(h.deps, (a) => {
      a.post('/v1/slow', requireAuth('user'), idempotency(), async (c) => {
        effects++;
        await gate;
        return c.json({ n: effects }, 201);
      });
    });
    const init = (key: string) => ({
      method: 'POST',
      body: '{}',
      headers: {
        authorization: `Bearer ${h.token('slow-user')}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
    });
    const first = app.request('/v1/slow', init('k-slow'));
    await vi.waitFor(() => expect(effects).toBe(1)); // the key is taken: its handler runs
    const during = await app.request('/v1/slow', init('k-slow'));
    expect(during.status).toBe(409);
    expect(((await during.json()) as { code: string }).code).toBe('idempotency_in_progress');
    release();
    const done = await first;
    const after = await app.request('/v1/slow', init('k-slow'));
    expect(done.status).toBe(201);
    expect(after.status).toBe(201);
    expect(await after.text()).toBe(await done.text());
    expect(effects).toBe(1);
  });

  it('on the local server (the sole writer) takes a key at once that an earlier run left running', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let effects = 0;
    /** The app as one run of a process: `soleWriterRun` is that run's id, none for a Lambda instance. */
    const run = (soleWriterRun?: string) =>
      createApp(
        { ...h.deps, store: new Store(h.deps.store.client, h.deps.store.tableName, { soleWriterRun }) },
        (a) => {
          a.post('/v1/cut-off', requireAuth('user'), idempotency(), async (c) => {
            const n = ++effects;
            if (n === 1) await gate; // the first run never answers: it stands for a run that stopped here
            return c.json({ n }, 201);
          });
        },
      );
    const init = {
      method: 'POST',
      body: '{}',
      headers: {
        authorization: `Bearer ${h.token('cut-off-user')}`,
        'content-type': 'application/json',
        'idempotency-key': 'k-cut-off',
      },
    };
    const before = run('run-1');
    const cutOff = before.request('/v1/cut-off', init);
    await vi.waitFor(() => expect(effects).toBe(1)); // the key is taken: its handler runs
    // The same run, or a Lambda instance (no sole writer), still sees it running.
    for (const app of [before, run()]) {
      const r = await app.request('/v1/cut-off', init);
      expect([r.status, ((await r.json()) as { code: string }).code]).toEqual([409, 'idempotency_in_progress']);
    }
    const after = run('run-2');
    const retry = await after.request('/v1/cut-off', init);
    expect([retry.status, await retry.json()]).toEqual([201, { n: 2 }]);
    const replay = await after.request('/v1/cut-off', init);
    expect([replay.status, replay.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    release();
    await cutOff;
  });

  it('lets only a retry with the same body take over a key whose request was cut off; another body gets 422', async () => {
    let effects = 0;
    const app = createApp(h.deps, (a) => {
      a.post('/v1/taken-over', requireAuth('user'), idempotency(), async (c) => c.json({ n: ++effects }, 201));
    });
    const send = (body: string) =>
      app.request('/v1/taken-over', {
        method: 'POST',
        body,
        headers: {
          authorization: `Bearer ${h.token('taken-over-user')}`,
          'content-type': 'application/json',
          'idempotency-key': 'k-taken-over',
        },
      });
    expect((await send('{"orderId":"A"}')).status).toBe(201);
    // As a crash leaves it: claimed with body A, never completed, its lock run out.
    await h.deps.store.update({
      key: idempotencyKey('user:taken-over-user#POST /v1/taken-over#k-taken-over'),
      update: 'SET #status = :running, lockExpiresAt = :past REMOVE responseBody, responseStatus',
      names: { '#status': 'status' },
      values: { ':running': 'in_progress', ':past': 0 },
    });
    const other = await send('{"orderId":"B"}');
    expect([other.status, ((await other.json()) as { code: string }).code]).toEqual([422, 'idempotency_key_reused']);
    expect(effects).toBe(1);
    expect((await send('{"orderId":"A"}')).status).toBe(201);
    expect(effects).toBe(2);
  });

  it('replays a large answer (a payout of 20,000 payees) byte for byte; one too large even gzipped releases its key', async () => {
    let calls = 0;
    const app = createApp(h.deps, (a) => {
      a.post('/v1/large', requireAuth('finance'), idempotency(), async (c) => {
        calls++;
        const items = Array.from({ length: 20_000 }, (_, i) => ({ payeeId: `payee-${i}-${calls}`, amount: 100 + i }));
        return c.json({ id: 'pay-large', status: calls === 1 ? 'pending' : 'confirmed', items }, 201);
      });
      // Random bytes do not compress: past the limit however they are stored.
      a.post('/v1/noise', requireAuth('finance'), idempotency(), async (c) => {
        calls++;
        return c.json({ noise: randomBytes(400 * 1024).toString('base64') }, 201);
      });
    });
    const send = (path: string, key: string) =>
      app.request(path, {
        method: 'POST',
        body: '{}',
        headers: {
          authorization: `Bearer ${h.token('finance-large', ['finance'])}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
      });
    const first = await send('/v1/large', 'k-large');
    const body = await first.text();
    expect(body.length).toBeGreaterThan(500 * 1024);
    const replay = await send('/v1/large', 'k-large');
    expect([replay.status, replay.headers.get('idempotent-replayed'), replay.headers.get('content-type')]).toEqual([
      201,
      'true',
      first.headers.get('content-type'),
    ]);
    expect(await replay.text()).toBe(body);
    expect(calls).toBe(1);

    expect((await send('/v1/noise', 'k-noise')).status).toBe(201);
    const again = await send('/v1/noise', 'k-noise');
    expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([201, null]);
    expect(calls).toBe(3);
  });

  it('releases the key after a 5xx so the client can retry', async () => {
    let calls = 0;
    const app = createApp(h.deps, (a) => {
      a.post('/v1/flaky', requireAuth('user'), idempotency(), async (c) => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return c.json({ ok: true }, 201);
      });
    });
    const init = {
      method: 'POST',
      body: '{}',
      headers: {
        authorization: `Bearer ${h.token('flaky-user')}`,
        'content-type': 'application/json',
        'idempotency-key': 'k-flaky',
      },
    };
    expect((await app.request('/v1/flaky', init)).status).toBe(500);
    expect((await app.request('/v1/flaky', init)).status).toBe(201);
    expect(calls).toBe(2);
  });
});
