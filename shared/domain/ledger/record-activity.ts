import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import type { BusEvent } from '../../events/schemas.ts';
import { insertFinanceActivity } from '../../store/ledger.ts';

/** The outcomes finance sees but the ledger does not pay: the shop refunds failed groups itself. */
export type ActivityEvent = BusEvent<'GroupBuyFormed' | 'GroupBuyFailed' | 'BargainCompleted' | 'BargainPurchased'>;

/**
 * Records a group-buy or bargain outcome for finance's view, once per event id. No ledger
 * entry: the ledger records only what Fission itself owes. Returns false for a repeat delivery.
 */
export async function recordActivity(deps: Pick<Deps, 'store' | 'clock'>, event: ActivityEvent): Promise<boolean> {
  const { eventId, occurredAt, version: _v, ...detail } = event.detail;
  return insertFinanceActivity(deps.store, {
    eventId,
    type: event['detail-type'],
    occurredAt,
    recordedAt: iso(deps.clock.now()),
    detail: detail as Record<string, unknown>,
  });
}
