import { iso, utcDay } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { consumedOnce, runOnce } from '../../events/consumer.ts';
import type { EventDetail } from '../../events/schemas.ts';
import { digestOf } from '../../ids.ts';
import { CLICK_SHARDS, shardOf } from '../../store/keys.ts';
import { addKolDayTx } from '../../store/kol.ts';

/**
 * Adds an attributed order (one conversion, its amount as GMV, its commission) to the KOL's day
 * of `paidAt`, or subtracts a refund's commission reversal on the day of the refund: exactly once
 * per order and per refund, the consumed marker (keyed by the cause, not the event) being written
 * in the same transaction.
 */
export async function rollOrderStats(
  deps: Deps,
  consumer: string,
  detail: EventDetail<'OrderAttributed'> | EventDetail<'OrderRefunded'>,
): Promise<boolean> {
  const now = deps.clock.now();
  const at = iso(now);
  const shard = shardOf(detail.orderId, CLICK_SHARDS);
  if ('linkCode' in detail)
    return runOnce(deps, [
      consumedOnce(consumer, digestOf('order', detail.orderId), at),
      addKolDayTx(detail.kolId, shard, utcDay(Date.parse(detail.paidAt)), {
        conversions: 1,
        gmv: detail.amount,
        commission: detail.commission,
      }),
    ]);
  if (!detail.kolId || !detail.reversal) return false;
  return runOnce(deps, [
    consumedOnce(consumer, digestOf('refund', detail.orderId, detail.refundId), at),
    addKolDayTx(detail.kolId, shard, utcDay(Date.parse(detail.refundedAt)), { commission: -detail.reversal }),
  ]);
}
