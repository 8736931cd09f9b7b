import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import autocannon, { type Request, type Result } from 'autocannon';
import { Hono } from 'hono';
import { BACKGROUND_MAX, settleClicks } from '#functions/links/background';
import { followInput, redirectTo } from '#functions/links/routes';
import { followLink } from '#shared/domain/links/follow-link';
import { randomCode } from '#shared/ids';
import { insertLink, readLinkCounts } from '#shared/store/links';
import { type BenchContext, type BenchRow, round, type Scenario } from '../scenario.ts';

const TARGET = 'https://shop.example.com/p/1';

/** Distinct visitors of the hot link in each load phase (each has a cookie and clicks a few times). */
const VISITORS = 5000;
let phases = 0;

/** Every phase brings visitors never seen before, so its first click from each is a unique click. */
function visitorRequests(path: string): Request[] {
  const phase = phases++;
  let n = 0;
  return [
    {
      method: 'GET',
      path,
      setupRequest: (req) => ({
        ...req,
        headers: {
          'user-agent': 'Mozilla/5.0 (iPhone) MicroMessenger/8.0',
          cookie: `fission_vid=bench-visitor-${phase}-${n++ % VISITORS}`,
        },
      }),
    },
  ];
}

async function load(ctx: BenchContext, url: string, path: string, seconds: number): Promise<Result> {
  return autocannon({ url, connections: ctx.connections, duration: seconds, requests: visitorRequests(path) });
}

/** Serves `app` on a free port of localhost. */
async function listen(app: Hono): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await new Promise<ReturnType<typeof serve>>((ok) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => ok(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A bare Hono server answering the same redirect without doing anything: the reference figure. */
function startBare(): Promise<{ url: string; close: () => Promise<void> }> {
  const app = new Hono();
  app.get('/s/:code', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.redirect(TARGET, 302);
  });
  return listen(app);
}

/**
 * The redirect's own answer and nothing else: the route's link lookup, visitor id, signed token
 * and cookie on the server's dependencies, without recording the click. What is left of the gap
 * to the full route is the cost of recording.
 */
function startAnswerOnly(ctx: BenchContext): Promise<{ url: string; close: () => Promise<void> }> {
  const app = new Hono();
  app.get('/s/:code', async (c) => redirectTo(c, ctx.deps, await followLink(ctx.deps, followInput(c, ctx.deps))));
  return listen(app);
}

/**
 * "KOL redirect": one hot link, many visitors. Figures: redirects/s and latency through the full
 * app, the ratio to a bare Hono 302 on its own port in the same run (target ≥ 0.5), and what the
 * click recording cost after the answers (DynamoDB requests per click, time to settle), checking
 * every 302 was counted. Past the background backlog's bound a redirect waits for room, so a
 * phase longer than a burst measures the rate clicks are written, not only answered. A third
 * server gives the same answers without recording the clicks, which splits the gap to the bare
 * 302 into what answering costs and what recording costs.
 */
export const kolRedirectScenario: Scenario = {
  name: 'KOL redirect',
  async run(ctx): Promise<BenchRow[]> {
    const code = randomCode(10);
    await insertLink(ctx.deps.store, {
      code,
      kind: 'kol',
      ownerId: `bench-kol-${code}`,
      targetUrl: TARGET,
      commission: false,
      windowSeconds: 7 * 24 * 3600,
      createdAt: new Date().toISOString(),
    });
    const path = `/s/${code}`;
    const bare = await startBare();
    const answerOnly = await startAnswerOnly(ctx);
    try {
      const warm = Math.max(1, Math.round(ctx.seconds / 4));
      await load(ctx, ctx.url, path, warm);
      await load(ctx, bare.url, path, warm);
      await load(ctx, answerOnly.url, path, warm);
      await settleClicks();

      const before = { ...ctx.deps.store.stats };
      const counted0 = (await readLinkCounts(ctx.deps.store, [code])).get(code)!;
      const app = await load(ctx, ctx.url, path, ctx.seconds);
      const settleStart = performance.now();
      await settleClicks();
      const settleMs = performance.now() - settleStart;
      const requests = ctx.deps.store.stats.requests - before.requests;
      const counted = (await readLinkCounts(ctx.deps.store, [code])).get(code)!;
      const base = await load(ctx, bare.url, path, ctx.seconds);
      const answer = await load(ctx, answerOnly.url, path, ctx.seconds);

      const redirects = app.statusCodeStats['302']?.count ?? 0;
      const recorded = counted.clicks - counted0.clicks;
      return [
        {
          scenario: 'KOL redirect (hot link)',
          opsPerSec: round(app.requests.average),
          p50: app.latency.p50,
          p99: app.latency.p99,
          notes: {
            ratioToBare302: round(app.requests.average / Math.max(1, base.requests.average), 2),
            bare302PerSec: round(base.requests.average),
            redirects,
            clicksRecorded: recorded,
            uniqueRecorded: counted.uniqueClicks - counted0.uniqueClicks,
            non302: app.non2xx - redirects + app.errors,
            dynamoRequestsPerClick: round(requests / Math.max(1, recorded), 2),
            backlogBound: BACKGROUND_MAX,
            settleAfterLoadMs: round(settleMs, 0),
          },
        },
        {
          scenario: 'bare Hono 302 (reference)',
          opsPerSec: round(base.requests.average),
          p50: base.latency.p50,
          p99: base.latency.p99,
        },
        {
          scenario: 'redirect answer, click not recorded (reference)',
          opsPerSec: round(answer.requests.average),
          p50: answer.latency.p50,
          p99: answer.latency.p99,
          notes: { ratioToBare302: round(answer.requests.average / Math.max(1, base.requests.average), 2) },
        },
      ];
    } finally {
      await Promise.all([bare.close(), answerOnly.close()]);
    }
  },
};
