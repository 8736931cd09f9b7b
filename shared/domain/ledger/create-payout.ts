import type { z } from 'zod';
import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { madeWithinKeyRecord } from '../../http/idempotency.ts';
import { digestOf, newId } from '../../ids.ts';
import {
  addToPayoutTx,
  balanceDeltaTx,
  clearReversalDue,
  deleteAvailableTx,
  dropFromPayableIfEmpty,
  findEntries,
  findPayeeClaim,
  findPayout,
  finishPayout,
  insertPayout,
  listAvailable,
  listPayableBalances,
  listPayeeMinPayouts,
  listPayoutItems,
  listReversalsDue,
  moveEntryTx,
  PayoutExistsError,
  payoutOpenTx,
  releasePayee,
} from '../../store/ledger.ts';
import type { Store } from '../../store/store.ts';
import { commissionIdFor, reversalIdFor } from './apply-reversals.ts';
import { StaleReadError } from './errors.ts';
import type { createPayoutSchema, Payout } from './ledger.schema.ts';
import { loadPayout } from './payout-view.ts';
import { chunks, isEligible, payoutThreshold } from './rules.ts';

/** Entries moved per transaction: 2 writes each plus the balance, the line, its page and the payout's status check stay under 100. */
const ENTRIES_PER_TX = 45;
/** Payees settled at once (each payee's writes touch only that payee's items). */
const PAYEE_CONCURRENCY = 8;
/**
 * When the sweeper ends a creation its creator left unfinished. Far beyond any creator still
 * running: on AWS the finance Lambda stops after 10 s, and a creator starts no payee later than
 * PAYOUT_MOVE_UNTIL_MS after the payout was made.
 */
export const PAYOUT_FINISH_AFTER_MS = 15 * 60_000;
/** A (very large, or very slow) creation stops moving payees after this and ends; the others wait for the next payout. */
const PAYOUT_MOVE_UNTIL_MS = 10 * 60_000;

export interface PayoutView extends Payout {
  items: { payeeId: string; amount: number }[];
}

/**
 * Creates a payout of every payee whose available balance (net of available reversals) is at
 * least `minAmount` and the `minPayout` of every commission campaign they earned in. Payees are
 * found through the payable index (balances with available ≠ 0), never a scan. Each payee's
 * entries move to `in_payout` in one transaction (chunks of 45 beyond that): every entry
 * conditional on still being `available`, the balance moved available → inPayout, the payout
 * line written. So two payouts created at once never share an entry: the loser's condition
 * fails and it leaves that payee out. Held entries are never available here (they sit in `held`).
 * The payout is `creating` meanwhile (neither confirmable nor failable); its creation ends by
 * setting its total to the sum of its lines and turning it `pending`. When the creator stops
 * before that (a crash, a timeout), the sweeper ends it after PAYOUT_FINISH_AFTER_MS with the
 * lines written, so a payout's total always agrees with its lines and its payees stay paid out
 * once; those left out are taken by the next payout.
 */
export async function createPayout(
  deps: Pick<Deps, 'store' | 'clock'>,
  input: z.output<typeof createPayoutSchema>,
  opts: { request?: { caller: string; key: string } } = {},
): Promise<PayoutView> {
  const fresh: Payout = {
    id: opts.request ? `pay_${digestOf('payout', opts.request.caller, opts.request.key)}` : newId('pay', deps.clock),
    asset: input.asset,
    status: 'creating',
    total: 0,
    minAmount: input.minAmount,
    createdAt: iso(deps.clock.now()),
  };
  const existing = await claimPayout(deps, fresh);
  if (!existing) return movePayees(deps, fresh);
  if (existing.status !== 'creating' && !madeWithinKeyRecord(existing.createdAt, deps.clock.now())) {
    // The key's last use is older than its idempotency record: a new request, with an id of its own.
    const payout = { ...fresh, id: newId('pay', deps.clock) };
    await insertPayout(deps.store, payout, finishBy(payout));
    return movePayees(deps, payout);
  }
  if (existing.asset !== fresh.asset || existing.minAmount !== fresh.minAmount)
    throw new AppError(422, 'idempotency_key_reused', 'This Idempotency-Key was used with a different body.');
  // The same request, cut off before it answered (a crash, a timeout, a retry while it still
  // runs): it goes on with that payout, and answers it whole.
  if (existing.status === 'creating') await movePayees(deps, existing, true);
  return viewOf(await loadPayout(deps, existing.id));
}

const finishBy = (p: Payout) => iso(Date.parse(p.createdAt) + PAYOUT_FINISH_AFTER_MS);

/** Inserts the new payout; when one with its id is there already (made under the same key), answers that one. */
async function claimPayout(deps: Pick<Deps, 'store' | 'clock'>, payout: Payout): Promise<Payout | undefined> {
  try {
    await insertPayout(deps.store, payout, finishBy(payout));
    return undefined;
  } catch (e) {
    if (!(e instanceof PayoutExistsError)) throw e;
    return e.existing ?? (await loadPayout(deps, payout.id));
  }
}

const viewOf = (p: Awaited<ReturnType<typeof loadPayout>>): PayoutView => ({
  ...p,
  items: p.items.map((i) => ({ payeeId: i.payeeId, amount: i.amount })),
});

/**
 * What one payout may total: every line and the sum of them stay exact integers in JavaScript
 * (2^53 - 1 minor units, ¥90 trillion); a payee whose line would pass it waits for the next payout.
 */
const MAX_PAYOUT_TOTAL = Number.MAX_SAFE_INTEGER;

/** Moves every eligible payee into a `creating` payout and ends its creation. */
async function movePayees(deps: Pick<Deps, 'store' | 'clock'>, payout: Payout, resumed = false): Promise<PayoutView> {
  const now = Date.parse(payout.createdAt);
  const [candidates, lines] = await Promise.all([
    listPayableBalances(deps.store, payout.asset),
    resumed ? listPayoutItems(deps.store, payout.id) : [],
  ]);
  // What is left of the payout's total for lines still to come (a resumed creation has some already).
  const room = { left: MAX_PAYOUT_TOTAL - lines.reduce((s, l) => s + l.amount, 0) };
  for (const batch of chunks(candidates, PAYEE_CONCURRENCY)) {
    if (deps.clock.now() - now > PAYOUT_MOVE_UNTIL_MS) break;
    await Promise.all(batch.map((b) => payPayee(deps, payout, b.payeeId, room)));
  }
  await finishPayout(deps.store, payout.id);
  // The payout as written, with what any other mover of it (a retry with the same key) moved: the
  // same answer whichever request ends it, or ended it meanwhile (the sweeper, a repeat).
  return viewOf(await loadPayout(deps, payout.id));
}

/**
 * The payee's commissions with a refund whose reversal is marked due and not written. A mark whose
 * reversal the commission already carries is stale (its consumer wrote the reversal without
 * clearing the mark, as a consumer of a version before marks does during a deploy): it goes.
 */
async function commissionsAwaitingReversal(store: Store, payeeId: string): Promise<Set<string>> {
  const due = await listReversalsDue(store, payeeId);
  if (due.length === 0) return new Set();
  const ids = [...new Set(due.map((d) => commissionIdFor(d.orderId, payeeId)))];
  const commissions = new Map((await findEntries(store, ids)).map((e) => [e.id, e]));
  const waiting = new Set<string>();
  for (const d of due) {
    const id = commissionIdFor(d.orderId, payeeId);
    if (commissions.get(id)?.reversalIds?.includes(reversalIdFor(d.orderId, d.refundId, payeeId)))
      await clearReversalDue(store, payeeId, d.orderId, d.refundId);
    else waiting.add(id);
  }
  return waiting;
}

/**
 * Moves one payee's available entries into the payout, when it is eligible. A commission with a
 * refund already taken whose reversal is not written yet (its event on its way) waits for a later
 * payout: paid now, it would pay out what was refunded.
 */
async function payPayee(
  deps: Pick<Deps, 'store' | 'clock'>,
  payout: Payout,
  payeeId: string,
  room: { left: number },
): Promise<void> {
  const asset = payout.asset;
  const [available, waiting] = await Promise.all([
    listAvailable(deps.store, payeeId, asset),
    commissionsAwaitingReversal(deps.store, payeeId),
  ]);
  const marks = available.filter((m) => !waiting.has(m.entryId));
  const total = marks.reduce((s, m) => s + m.amount, 0);
  const threshold = payoutThreshold(payout.minAmount, await listPayeeMinPayouts(deps.store, payeeId));
  if (!isEligible(total, threshold)) {
    if (available.reduce((s, m) => s + m.amount, 0) === 0) await dropFromPayableIfEmpty(deps.store, payeeId, asset);
    return;
  }
  if (!Number.isSafeInteger(total) || total > room.left) return; // past what one payout can total exactly
  room.left -= total;
  // Refused at once: perhaps by the claim of a payout that ended without its payee's last move (it
  // stopped, or its retry found the rest below the threshold). Such a claim is let go, once.
  if (!(await moveEntries(deps, payout, payeeId, marks)) && (await releaseEndedClaim(deps.store, payeeId, asset)))
    await moveEntries(deps, payout, payeeId, marks);
  await dropFromPayableIfEmpty(deps.store, payeeId, asset);
}

/**
 * Moves the entries of `marks` into the payout, 45 to a transaction; whether any move went
 * through (not when the first was refused: entries taken meanwhile, or the payee claimed).
 * A payee of more than one move is claimed on its balance by the first (until its last, or until
 * the payout is due to be ended), so a payout created meanwhile leaves it out instead of taking
 * the rest: each payee is in one payout whole, its line checked against the thresholds.
 */
async function moveEntries(
  deps: Pick<Deps, 'store' | 'clock'>,
  payout: Payout,
  payeeId: string,
  marks: Awaited<ReturnType<typeof listAvailable>>,
): Promise<boolean> {
  const asset = payout.asset;
  const claim = {
    expression: 'attribute_not_exists(payingOut) OR payingOut = :payout OR payingOutUntil < :now',
    values: { ':payout': payout.id, ':now': iso(deps.clock.now()) },
  };
  const parts = chunks(marks, ENTRIES_PER_TX);
  let moved = false;
  for (const [i, part] of parts.entries()) {
    const sum = part.reduce((s, m) => s + m.amount, 0);
    const last = i === parts.length - 1;
    try {
      await deps.store.transact([
        ...part.flatMap((m) => [
          moveEntryTx(
            { id: m.entryId, state: 'available', held: false },
            { set: { state: 'in_payout', payoutId: payout.id } },
          ),
          deleteAvailableTx({ id: m.entryId, payeeId, asset }),
        ]),
        balanceDeltaTx(
          payeeId,
          asset,
          { available: -sum, inPayout: sum },
          {
            condition: claim,
            ...(last
              ? { remove: ['payingOut', 'payingOutUntil'] }
              : { set: { payingOut: payout.id, payingOutUntil: finishBy(payout) } }),
          },
        ),
        ...addToPayoutTx(
          payout.id,
          payeeId,
          part.map((m) => m.entryId),
          sum,
        ),
        // Only into a payout still open: a second mover (a retry with the same key while the first
        // request still runs, or the sweeper) finding it closing or ended stops, so no line lands
        // outside its total.
        payoutOpenTx(payout.id),
      ]);
      moved = true;
    } catch (e) {
      if (!(e instanceof StaleReadError)) throw e;
      // Cut short (entries taken meanwhile, by another mover of this payout perhaps, or the payout
      // closing). The claim stays while the payout is being created: another mover of it may still
      // be moving the payee. Once the payout has ended, the next payout lets it go (releaseEndedClaim).
      break;
    }
  }
  return moved;
}

/** Lets go of a claim on the payee held by a payout no longer being created; whether there was one. */
async function releaseEndedClaim(store: Store, payeeId: string, asset: Payout['asset']): Promise<boolean> {
  const holder = await findPayeeClaim(store, payeeId, asset);
  if (!holder) return false;
  const payout = await findPayout(store, holder);
  if (payout?.status === 'creating') return false;
  await releasePayee(store, payeeId, asset, holder);
  return true;
}
