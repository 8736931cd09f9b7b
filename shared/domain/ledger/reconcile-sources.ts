import { type DeadLetter, listDeadLettersStillDead } from '../../events/dead-letters.ts';
import { mapLimit } from '../../map-limit.ts';
import { listRewardedInvites } from '../../store/invites.ts';
import { INDEX_SHARDS } from '../../store/keys.ts';
import { findEntries } from '../../store/ledger.ts';
import { listCommissionOrders, listReversingRefunds, type Refund } from '../../store/orders.ts';
import type { Store } from '../../store/store.ts';
import type { Order } from '../orders/order.schema.ts';
import { commissionIdFor, reversalIdFor } from './apply-reversals.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { daysBetween, type Finding, type SourcesChecked } from './rules.ts';
import { inviteRewardSides } from './settle-invite.ts';

type Period = { from: string; to: string };

/**
 * Cross-checks what owes money against the ledger, for what was recorded in the period (each
 * source's day index), reading the expected entries by the ids their causes derive:
 * - `attributed_orders_in_ledger`: every order that earned a commission has its commission entry,
 *   for its KOL and of its amount, and every refund that reverses commission has its reversal
 *   entry, of the amount the refund reverses (none is needed when nothing was left of the
 *   commission to take back, or when the commission itself is missing: the refund waits parked
 *   for it, and the commission's own order fails the check of its period);
 * - `rewarded_invites_in_ledger`: every invite that qualified with a reward has an entry for each
 *   side with a reward, for that side and of its asset and amount.
 * An entry still missing `graceMs` after its source was recorded is an event that never settled:
 * lost, or in the dead letters (set the grace to the longest a delivery can still be retried).
 * Younger ones count as settling, unless their event is already in the ledger consumer's dead
 * letters: those fail at once, naming the letter to redrive. Entries are read consistently, after the sources, so a missing
 * one was missing when checked.
 */
export async function checkSources(
  store: Store,
  period: Period,
  at: { nowMs: number; graceMs: number },
): Promise<{ findings: Finding[]; checked: SourcesChecked }> {
  const [orders, refunds, invites, letters] = await Promise.all([
    byDay(period, (day, shard) => listCommissionOrders(store, day, shard, period)),
    byDay(period, (day, shard) => listReversingRefunds(store, day, shard, period)),
    byDay(period, (day, shard) => listRewardedInvites(store, day, shard, period)),
    ledgerDeadLetters(store),
  ]);
  const reversalOf = (r: Refund) => reversalIdFor(r.orderId, r.refundId, r.kolId!);
  const expected = new Set([
    ...orders.map(commissionId),
    ...refunds.flatMap((r) => [commissionId(r), reversalOf(r)]),
    ...invites.flatMap((b) => inviteRewardSides(b).map((side) => side.id)),
  ]);
  const entries = new Map<string, LedgerEntry>((await findEntries(store, [...expected])).map((e) => [e.id, e]));

  const settlingSince = new Date(at.nowMs - at.graceMs).toISOString();
  const findings: Finding[] = [];
  const checked: SourcesChecked = {
    orders: { orders: orders.length, refunds: refunds.length, settling: 0 },
    invites: { invites: invites.length, settling: 0 },
    graceMinutes: at.graceMs / 60_000,
    ...period,
  };
  /** A missing entry: a failure once past the grace, or at once when its event is in the dead letters. */
  const missing = (source: { settling: number }, recordedAt: string, cause: string, finding: Finding) => {
    const letter = letters.get(cause);
    if (letter)
      findings.push({
        ...finding,
        text: `${finding.text}; its ${letter.event['detail-type']} is in the dead letters (${letter.id})`,
      });
    else if (recordedAt > settlingSince) source.settling++;
    else findings.push(finding);
  };

  const check = 'attributed_orders_in_ledger';
  for (const o of orders) {
    const c = entries.get(commissionId(o));
    if (!c) {
      const text = `order ${o.orderId}: commission ${o.commission} to ${o.kolId} is not in the ledger`;
      missing(checked.orders, o.createdAt, `order ${o.orderId}`, { check, text });
    } else if (c.payeeId !== o.kolId || c.amount !== o.commission)
      findings.push({
        check,
        text: `order ${o.orderId}: commission ${o.commission} to ${o.kolId}, but entry ${c.id} is ${c.amount} to ${c.payeeId}`,
      });
  }
  for (const r of refunds) {
    const reversal = entries.get(reversalOf(r));
    if (reversal) {
      // Refunds split the commission in proportion and never past it, so none is cut short.
      if (reversal.amount !== -r.reversal! || reversal.payeeId !== r.kolId)
        findings.push({
          check,
          text: `order ${r.orderId} refund ${r.refundId}: reverses ${r.reversal} from ${r.kolId}, but entry ${reversal.id} is ${reversal.amount} to ${reversal.payeeId}`,
        });
      continue;
    }
    const c = entries.get(commissionId(r));
    if (!c || (c.reversed ?? 0) >= c.amount) continue; // parked for its commission, or nothing left to take back
    const text = `order ${r.orderId} refund ${r.refundId}: reversal of ${r.reversal} is not in the ledger`;
    missing(checked.orders, r.createdAt, `refund ${r.orderId} ${r.refundId}`, { check, text });
  }

  for (const b of invites)
    for (const side of inviteRewardSides(b)) {
      const check = 'rewarded_invites_in_ledger';
      const e = entries.get(side.id);
      const owed = `${side.amount} ${side.asset} to ${side.payeeId}`;
      if (!e)
        missing(checked.invites, b.qualifiedAt!, `invite ${b.inviteId}`, {
          check,
          text: `invite ${b.inviteId}: ${owed} is not in the ledger`,
        });
      else if (e.payeeId !== side.payeeId || e.asset !== side.asset || e.amount !== side.amount)
        findings.push({
          check,
          text: `invite ${b.inviteId}: ${owed}, but entry ${e.id} is ${e.amount} ${e.asset} to ${e.payeeId}`,
        });
    }
  return { findings, checked };
}

/** The id of the commission entry an order earned (its refunds name the same order and KOL). */
const commissionId = (o: Pick<Order, 'orderId' | 'kolId'>) => commissionIdFor(o.orderId, o.kolId!);

/**
 * The dead letters of the ledger's consumers not redriven yet, by the source their event settles
 * (`order <orderId>`, `refund <orderId> <refundId>`, `invite <inviteId>`).
 */
async function ledgerDeadLetters(store: Store): Promise<Map<string, DeadLetter>> {
  const out = new Map<string, DeadLetter>();
  const causes: Record<string, [consumer: string, cause: (d: Record<string, unknown>) => string]> = {
    OrderAttributed: ['ledger-order-attributed', (d) => `order ${d.orderId}`],
    OrderRefunded: ['ledger-order-refunded', (d) => `refund ${d.orderId} ${d.refundId}`],
    InviteQualified: ['ledger-invite-qualified', (d) => `invite ${d.inviteId}`],
  };
  for (const letter of await listDeadLettersStillDead(store)) {
    const known = causes[letter.event['detail-type']];
    if (known && known[0] === letter.consumer)
      out.set(known[1](letter.event.detail as unknown as Record<string, unknown>), letter);
  }
  return out;
}

/** Everything one day index holds for the period: every shard of every day, 16 days and shards at a time. */
export async function byDay<T>(period: Period, list: (day: string, shard: number) => Promise<T[]>): Promise<T[]> {
  const pages = daysBetween(period.from, period.to).flatMap((day) =>
    Array.from({ length: INDEX_SHARDS }, (_, shard) => ({ day, shard })),
  );
  return (await mapLimit(pages, ({ day, shard }) => list(day, shard), 16)).flat();
}
