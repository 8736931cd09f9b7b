import { mapLimit } from '../../map-limit.ts';
import { INDEX_SHARDS } from '../../store/keys.ts';
import { findEntries } from '../../store/ledger.ts';
import { listCommissionOrders, listRefunds, type Refund } from '../../store/orders.ts';
import type { Store } from '../../store/store.ts';
import type { Order } from '../orders/order.schema.ts';
import { reversalIdFor } from './apply-reversals.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { daysBetween, entryIdFor, type Finding } from './rules.ts';

/**
 * How long an order or refund may go without its ledger entry before that counts as a failure:
 * its event is still on its way (outbox, bus, consumer retries). Past this it is waiting in a dead
 * letter queue, or its consumer is broken, and finance should know.
 */
export const ORDER_SETTLE_GRACE_MS = 15 * 60_000;

/** What the order cross-check read and found. */
export interface OrderCheck {
  findings: Finding[];
  /** Orders with commission recorded in the period. */
  orders: number;
  /** Their refunds that reverse some commission. */
  refunds: number;
  /** Orders and refunds without their entry yet, recorded within the grace period. */
  settling: number;
}

/**
 * Cross-checks the orders side against the ledger (`attributed_orders_in_ledger`): every order
 * that earned a commission and was recorded in the period (the orders' day index) has its
 * commission entry, for its KOL and of its amount, and every refund of it that reverses commission
 * has its reversal entry, unless nothing was left of the commission to take back. An entry missing
 * past `ORDER_SETTLE_GRACE_MS` is an event that never settled: lost, or waiting in the dead letters.
 * Entries are read consistently, after the orders, so a missing one was missing when checked.
 */
export async function checkAttributedOrders(
  store: Store,
  period: { from: string; to: string },
  nowMs: number,
): Promise<OrderCheck> {
  const pages = daysBetween(period.from, period.to).flatMap((day) =>
    Array.from({ length: INDEX_SHARDS }, (_, shard) => ({ day, shard })),
  );
  const orders: Order[] = (
    await mapLimit(pages, ({ day, shard }) => listCommissionOrders(store, day, shard, period), 16)
  ).flat();
  const refunded = orders.filter((o) => o.refundedTotal > 0);
  const refundLists = await mapLimit(refunded, (o) => listRefunds(store, o.orderId));
  const refundsOf = new Map<string, Refund[]>(
    refunded.map((o, i) => [o.orderId, refundLists[i]!.filter((r) => (r.reversal ?? 0) > 0)]),
  );

  const commissionId = (o: Order) => entryIdFor('order', o.orderId, o.kolId!, 'commission');
  const ids = orders.flatMap((o) => [
    commissionId(o),
    ...(refundsOf.get(o.orderId) ?? []).map((r) => reversalIdFor(o.orderId, r.refundId, o.kolId!)),
  ]);
  const entries = new Map<string, LedgerEntry>((await findEntries(store, ids)).map((e) => [e.id, e]));

  const settlingSince = new Date(nowMs - ORDER_SETTLE_GRACE_MS).toISOString();
  const out: OrderCheck = { findings: [], orders: orders.length, refunds: 0, settling: 0 };
  const missing = (recordedAt: string, text: string) => {
    if (recordedAt > settlingSince) out.settling++;
    else out.findings.push({ check: 'attributed_orders_in_ledger', text });
  };
  for (const o of orders) {
    const refunds = refundsOf.get(o.orderId) ?? [];
    out.refunds += refunds.length;
    const c = entries.get(commissionId(o));
    if (!c) {
      missing(o.createdAt, `order ${o.orderId}: commission ${o.commission} to ${o.kolId} is not in the ledger`);
      continue; // its refunds wait parked for it
    }
    if (c.payeeId !== o.kolId || c.amount !== o.commission)
      out.findings.push({
        check: 'attributed_orders_in_ledger',
        text: `order ${o.orderId}: commission ${o.commission} to ${o.kolId}, but entry ${c.id} is ${c.amount} to ${c.payeeId}`,
      });
    for (const r of refunds) {
      if (entries.has(reversalIdFor(o.orderId, r.refundId, o.kolId!))) continue;
      if ((c.reversed ?? 0) >= c.amount) continue; // nothing was left to take back
      missing(r.createdAt, `order ${o.orderId} refund ${r.refundId}: reversal of ${r.reversal} is not in the ledger`);
    }
  }
  return out;
}
