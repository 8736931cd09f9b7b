import { signAttributionToken } from '#shared/domain/links/attribution-token';
import { randomCode } from '#shared/ids';
import { insertLink } from '#shared/store/links';
import { type BenchContext, type BenchRow, percentile, round, type Scenario } from '../scenario.ts';

async function hook(ctx: BenchContext, path: string, body: unknown) {
  const raw = JSON.stringify(body);
  const r = await fetch(`${ctx.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...ctx.webhookHeaders(raw) },
    body: raw,
  });
  const text = await r.text();
  return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/**
 * "Order webhook": signed `orders/paid` webhooks, each a new order carrying a valid attribution
 * token of a KOL link in a commission campaign (so every one reads the click history, the link
 * and the campaign, and writes order + first-order marker + OrderPaid + OrderAttributed in one
 * transaction). Figures: attributed orders/s, latency, ratio to the raw transaction ceiling,
 * DynamoDB requests and write units per order.
 */
export const orderWebhookScenario: Scenario = {
  name: 'order webhook',
  async run(ctx): Promise<BenchRow[]> {
    const run = Date.now().toString(36);
    const created = await fetch(`${ctx.url}/v1/admin/campaigns`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ctx.token(`bench-admin-${run}`, ['admin'])}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ type: 'commission', title: 'bench KOL program', rules: { rateBps: 800 } }),
    });
    if (created.status !== 201) throw new Error(`bench campaign not created: ${created.status}`);
    const campaignId = ((await created.json()) as { id: string }).id;
    const code = randomCode(10);
    await insertLink(ctx.deps.store, {
      code,
      kind: 'kol',
      ownerId: `bench-kol-${run}`,
      targetUrl: 'https://shop.example.com/p/1',
      campaignId,
      commission: true,
      windowSeconds: 604800,
      createdAt: new Date().toISOString(),
    });

    let n = 0;
    let measuring = false;
    let ok = 0;
    const latencies: number[] = [];
    const other: Record<string, number> = {};
    const worker = async (until: number) => {
      while (performance.now() < until) {
        const i = n++;
        const visitorId = `bench-buyer-v-${run}-${i}`;
        const body = {
          orderId: `bench-order-${run}-${i}`,
          userId: `bench-buyer-${run}-${i}`,
          amount: 10_000 + (i % 5000),
          paidAt: new Date().toISOString(),
          visitorId,
          attributionToken: signAttributionToken(ctx.deps.config.attributionSecret, {
            code,
            visitorId,
            issuedAtMs: Date.now() - 60_000,
          }),
        };
        const t0 = performance.now();
        const r = await hook(ctx, '/v1/orders/paid', body);
        const ms = performance.now() - t0;
        if (!measuring) continue;
        if (r.status === 201 && r.body.attributed === true) {
          ok++;
          latencies.push(ms);
        } else
          other[`${r.status} ${String(r.body.code ?? r.body.attributed)}`] =
            (other[`${r.status} ${String(r.body.code ?? r.body.attributed)}`] ?? 0) + 1;
      }
    };

    await Promise.all(
      Array.from({ length: ctx.connections }, () => worker(performance.now() + Math.min(2000, ctx.seconds * 250))),
    );
    measuring = true;
    const before = { ...ctx.deps.store.stats };
    const started = performance.now();
    const until = started + ctx.seconds * 1000;
    await Promise.all(Array.from({ length: ctx.connections }, () => worker(until)));
    const elapsed = (performance.now() - started) / 1000;
    const requests = ctx.deps.store.stats.requests - before.requests;
    const writeUnits = ctx.deps.store.stats.writeUnits - before.writeUnits;
    latencies.sort((a, b) => a - b);
    const opsPerSec = ok / elapsed;
    return [
      {
        scenario: 'order webhook (paid, attributed)',
        opsPerSec: round(opsPerSec),
        p50: round(percentile(latencies, 50)),
        p99: round(percentile(latencies, 99)),
        notes: {
          ratioToCeiling: round(opsPerSec / Math.max(1, ctx.ceiling), 2),
          dynamoRequestsPerOrder: round(requests / Math.max(1, ok), 2),
          writeUnitsPerOrder: round(writeUnits / Math.max(1, ok), 2),
          ...other,
        },
      },
    ];
  },
};
