import type { Deps } from '../../deps.ts';
import { ValidationError } from '../../errors.ts';
import { mapLimit } from '../../map-limit.ts';
import {
  findBalances,
  findEntries,
  findPayout,
  findPayoutItem,
  findPayouts,
  findVersionedBalances,
  listAllBalances,
  listAllPayeeEntries,
  listDayActivity,
  listDayEntries,
  listPayoutItems,
  listPayoutsCreated,
} from '../../store/ledger.ts';
import type { Store } from '../../store/store.ts';
import type { Balance, LedgerEntry, Payout, PayoutItem } from './ledger.schema.ts';
import { byDay, checkSources } from './reconcile-sources.ts';
import {
  daysBetween,
  entryOrderKey,
  type Finding,
  findFailures,
  type ReconcileInput,
  type Reconciliation,
  reconcile,
  resolvePeriod,
} from './rules.ts';

/** Re-reads of one payee or payout before it counts as changing all the time (not compared). */
const STABLE_READ_TRIES = 6;
/** Pause before the second re-read, doubled before each next one (50 ms … 800 ms). */
const STABLE_READ_PAUSE_MS = 50;

type Period = { from: string; to: string };

/**
 * Reconciles the ledger from the entries themselves. Without a period: every balance (from the
 * balance list) against every entry of its payee. With `from`/`to`: the period's entries (day
 * index) for the cause and payout checks, and, for each payee seen in the period, all of that
 * payee's entries against its balances (a balance sums all time). Payouts checked: those the
 * entries name and those created in the period. With a period, `totals.activity` also counts the
 * group-buy and bargain outcomes recorded for finance (by event type). What owes money is
 * cross-checked too: orders with commission, refunds reversing commission and rewarded invites
 * recorded in the period (without one: the last 31 days) must have their ledger entries
 * (`checkSources`). A finance batch job, not a hot path.
 *
 * A reported failure is one that holds on a stable read. The first pass reads entries, balances
 * and payouts over many queries while the sweeper, payouts and settlement keep writing, so a
 * transaction landing between two of its reads can make them disagree. Each failure that compares
 * records written together is therefore re-checked on a snapshot of its own payee or payout (see
 * `readPayee`, `readPayout`), re-read until a snapshot passes or two in a row fail the same way;
 * only the latter is reported. Failures about what never changes once written (entry ids, causes,
 * amounts) stand as read.
 */
export async function reconcileLedger(
  deps: Pick<Deps, 'store' | 'clock' | 'config'>,
  q: { from?: string; to?: string },
): Promise<Reconciliation & { period: Period | null }> {
  const nowMs = deps.clock.now();
  let period: Period | null = null;
  if (q.from || q.to) {
    const p = resolvePeriod(q, nowMs);
    if ('error' in p) throw new ValidationError(p.error, [{ path: 'from', message: p.error }]);
    period = p;
  }
  const input = await readLedger(deps.store, period);
  const first = findFailures(input);
  const { failures, unsettled } = first.length
    ? await recheck(deps.store, input, first, period)
    : { failures: [], unsettled: [] };
  const sourcesPeriod = period ?? (resolvePeriod({}, nowMs) as Period);
  const sources = await checkSources(deps.store, sourcesPeriod, {
    nowMs,
    graceMs: deps.config.SETTLE_GRACE_MINUTES * 60_000,
  });
  const result = reconcile(input, [...failures, ...sources.findings], unsettled, sources.checked);
  if (period) {
    const activity: Record<string, number> = {};
    const days = daysBetween(period.from, period.to);
    for (const a of (
      await mapLimit(days, (day) => listDayActivity(deps.store, day, period.from, period.to), 16)
    ).flat())
      activity[a.type] = (activity[a.type] ?? 0) + 1;
    result.totals.activity = activity;
  }
  return { ...result, period };
}

/** The first pass: everything reconciliation compares, read as fast as it goes (not one snapshot). */
async function readLedger(store: Store, period: Period | null): Promise<ReconcileInput> {
  let entries: LedgerEntry[];
  let balances: Balance[];
  let balanceEntries: LedgerEntry[];
  if (period) {
    entries = await byDay(period, async (day, shard) => {
      const out: LedgerEntry[] = [];
      for (let after: string | null = null; ; ) {
        const r = await listDayEntries(store, day, shard, { limit: 500, after, ...period });
        out.push(...r.items);
        if (!r.more || r.items.length === 0) return out;
        after = entryOrderKey(r.items[r.items.length - 1]!);
      }
    });
    const payees = [...new Set(entries.map((e) => e.payeeId))];
    balances = (await mapLimit(payees, (id) => findBalances(store, id))).flat();
    balanceEntries = (await mapLimit(payees, (id) => listAllPayeeEntries(store, id))).flat();
  } else {
    balances = await listAllBalances(store);
    const payees = [...new Set(balances.map((b) => b.payeeId))];
    balanceEntries = (await mapLimit(payees, (id) => listAllPayeeEntries(store, id))).flat();
    entries = balanceEntries;
  }
  const payoutIds = new Set(entries.map((e) => e.payoutId).filter((id): id is string => Boolean(id)));
  const created = await listPayoutsCreated(store, period?.from ?? '0', period?.to ?? '9999');
  for (const p of created) payoutIds.add(p.id);
  const payouts: Payout[] = await findPayouts(store, [...payoutIds]);
  const payoutItems: PayoutItem[] = (await mapLimit(payouts, (p) => listPayoutItems(store, p.id))).flat();
  return { entries, balances, balanceEntries, payouts, payoutItems };
}

/**
 * Re-checks the first pass's failures on snapshots: each payee named by a failure is re-read
 * (`readPayee`) and checked alone, each payout named by a total mismatch likewise
 * (`readPayout`); what persists there (`persisting`) is reported instead of what failed in the
 * first pass. A payee or payout that never gives two agreeing reads is listed as unsettled and fails nothing.
 */
async function recheck(
  store: Store,
  input: ReconcileInput,
  first: Finding[],
  period: Period | null,
): Promise<{ failures: Finding[]; unsettled: string[] }> {
  const failures = first.filter((f) => !f.payeeId && !f.payoutId);
  const unsettled: string[] = [];
  const payees = [...new Set(first.flatMap((f) => (f.payeeId ? [f.payeeId] : [])))];
  const payouts = [...new Set(first.flatMap((f) => (f.payoutId ? [f.payoutId] : [])))];
  const inPeriod = (e: LedgerEntry) => !period || (e.createdAt >= period.from && e.createdAt <= `${period.to}~`);
  await mapLimit(payees, async (payeeId) => {
    const known = input.payoutItems.filter((i) => i.payeeId === payeeId).map((i) => i.payoutId);
    const found = await persisting(
      (also) => readPayee(store, payeeId, [...known, ...also]),
      (snap) =>
        findFailures({
          entries: snap.entries.filter(inPeriod),
          balances: snap.balances,
          balanceEntries: snap.entries,
          payouts: snap.payouts,
          payoutItems: snap.lines,
        }).filter((f) => f.payeeId === payeeId),
    );
    if (found) failures.push(...found);
    else unsettled.push(payeeId);
  });
  await mapLimit(payouts, async (payoutId) => {
    const found = await persisting(
      () => readPayout(store, payoutId),
      (snap) =>
        findFailures({
          entries: [],
          balances: [],
          balanceEntries: [],
          payouts: snap.payouts,
          payoutItems: snap.lines,
        }).filter((f) => f.payoutId === payoutId && f.check === 'payout_totals_match'),
    );
    if (found) failures.push(...found);
    else unsettled.push(`payout ${payoutId}`);
  });
  return { failures, unsettled: unsettled.sort() };
}

type Read<T> = { stable: true; value: T } | { stable: false; also?: string[] };

/**
 * Re-reads a snapshot (`read`) and checks it, pausing longer before each try, until it is
 * stable and passes (answers no failure) or two stable reads in a row fail the same way (answers
 * those failures: a mismatch that outlived a pause, so not an index still catching up either).
 * Undefined when that never happens within STABLE_READ_TRIES.
 */
async function persisting<T>(
  read: (also: string[]) => Promise<Read<T>>,
  check: (snapshot: T) => Finding[],
): Promise<Finding[] | undefined> {
  const also: string[] = [];
  let previous: string | undefined;
  for (let i = 0; i < STABLE_READ_TRIES; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, STABLE_READ_PAUSE_MS * 2 ** (i - 1)));
    const r = await read(also);
    if (!r.stable) {
      also.push(...(r.also ?? []));
      previous = undefined;
      continue;
    }
    const found = check(r.value);
    if (found.length === 0) return [];
    const key = JSON.stringify(found.map((f) => f.text).sort());
    if (key === previous) return found;
    previous = key;
  }
  return undefined;
}

/**
 * One payee's records as they stood at one moment: its balances (with versions), then the headers
 * of the payouts it is known to be in, then its entries (listed by the payee index, each read
 * consistently) and its lines of those payouts, then the headers and balances again. Stable when
 * both reads agree and the entries name no payout outside the set read (else the next try adds it).
 *
 * Why that is a snapshot: every write to a payee's entries or payout lines goes in a transaction
 * that also changes either its balance, whose version every change raises (accruals, reversals,
 * holds, unlocks, a payout taking entries, a confirmation paying them, a failed line's entries
 * coming back), or the payout's header (a line failing lowers the total). Versions never repeat,
 * and a header never comes back to a value it left: its status only moves forward and its total is
 * set once when creation ends, then only lowered. So when both reads agree, nothing read in
 * between changed between the end of the first read and the start of the second, and everything
 * read holds at any moment in that window. (The one write neither raises is a line of amount 0
 * failing, which changes no sum; the entries of that line still come back with a balance change.)
 */
async function readPayee(
  store: Store,
  payeeId: string,
  payoutIds: string[],
): Promise<Read<{ balances: Balance[]; entries: LedgerEntry[]; payouts: Payout[]; lines: PayoutItem[] }>> {
  const ids = [...new Set(payoutIds)];
  const balancesBefore = await findVersionedBalances(store, payeeId);
  const headersBefore = await findPayouts(store, ids);
  const listed = await listAllPayeeEntries(store, payeeId);
  const entries = await findEntries(
    store,
    listed.map((e) => e.id),
  );
  const lines = (await Promise.all(ids.map((id) => findPayoutItem(store, id, payeeId)))).filter((l): l is PayoutItem =>
    Boolean(l),
  );
  const headersAfter = await findPayouts(store, ids);
  const balancesAfter = await findVersionedBalances(store, payeeId);
  const unread = [...new Set(entries.flatMap((e) => (e.payoutId && !ids.includes(e.payoutId) ? [e.payoutId] : [])))];
  if (unread.length > 0) return { stable: false, also: unread };
  if (!same(balancesBefore, balancesAfter) || !same(headersBefore, headersAfter)) return { stable: false };
  return {
    stable: true,
    value: { balances: balancesAfter.map((b) => b.balance), entries, payouts: headersAfter, lines },
  };
}

/**
 * One payout's header and lines as they stood at one moment: the header, then the lines, then the
 * header again; stable when both header reads agree. Lines change only by being added while the
 * payout is `creating` (when its total is not checked), by turning paid (no change to the sum of
 * live lines) or by failing, which lowers the header's total in the same transaction; and a header
 * never comes back to a value it left (see `readPayee`).
 */
async function readPayout(store: Store, payoutId: string): Promise<Read<{ payouts: Payout[]; lines: PayoutItem[] }>> {
  const before = await findPayout(store, payoutId);
  const lines = await listPayoutItems(store, payoutId);
  const after = await findPayout(store, payoutId);
  if (!same(before, after)) return { stable: false };
  return { stable: true, value: { payouts: after ? [after] : [], lines } };
}

/** Deep equality of two reads (items of one query or batch come back in the same order when unchanged). */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(sorted).sort((p, q) => (JSON.stringify(p) < JSON.stringify(q) ? -1 : 1));
  if (x && typeof x === 'object')
    return Object.fromEntries(
      Object.entries(x)
        .sort(([k1], [k2]) => (k1 < k2 ? -1 : 1))
        .map(([k, v]) => [k, sorted(v)]),
    );
  return x;
}
