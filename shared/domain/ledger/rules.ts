import { digestOf } from '../../ids.ts';
import type {
  Asset,
  Balance,
  Buckets,
  EntryKind,
  EntryState,
  LedgerEntry,
  Payout,
  PayoutItem,
} from './ledger.schema.ts';

/**
 * The entry id named by its cause: `led_` + a hash of (cause type, cause id, payee, kind).
 * Every delivery of the same event derives the same id, so the conditional put of the entry
 * (attribute_not_exists) lets exactly one of them take effect.
 */
export function entryIdFor(causeType: string, causeId: string, payeeId: string, kind: EntryKind): string {
  return `led_${digestOf(causeType, causeId, payeeId, kind)}`;
}

export type BucketName = keyof Buckets;
export const BUCKETS: BucketName[] = ['locked', 'available', 'inPayout', 'paid', 'held'];

export const emptyBuckets = (): Buckets => ({ locked: 0, available: 0, inPayout: 0, paid: 0, held: 0 });

/**
 * The balance bucket an entry counts in: held entries (awaiting review) count in `held`
 * whatever their lock state; rejected entries count nowhere.
 */
export function bucketOf(state: EntryState, held: boolean): BucketName | null {
  if (state === 'rejected') return null;
  if (held) return 'held';
  switch (state) {
    case 'locked':
      return 'locked';
    case 'available':
      return 'available';
    case 'in_payout':
      return 'inPayout';
    case 'paid':
      return 'paid';
  }
}

/** The balance an entry set adds up to (per its buckets); reconciliation compares it with the stored balance. */
export function sumEntries(entries: Pick<LedgerEntry, 'amount' | 'state' | 'held'>[]): Buckets {
  const b = emptyBuckets();
  for (const e of entries) {
    const bucket = bucketOf(e.state, e.held);
    if (bucket) b[bucket] += e.amount;
  }
  return b;
}

/** A move of `amount` between buckets as balance deltas (from may be null for a new entry, to null for a void). */
export function moveDelta(amount: number, from: BucketName | null, to: BucketName | null): Partial<Buckets> {
  const d: Partial<Buckets> = {};
  if (from === to) return d;
  if (from) d[from] = (d[from] ?? 0) - amount;
  if (to) d[to] = (d[to] ?? 0) + amount;
  return d;
}

/** Adds deltas together (several entries of one payee in one transaction touch the balance once). */
export function addDeltas(...ds: Partial<Buckets>[]): Partial<Buckets> {
  const out: Partial<Buckets> = {};
  for (const d of ds) for (const k of BUCKETS) if (d[k] !== undefined) out[k] = (out[k] ?? 0) + (d[k] as number);
  for (const k of BUCKETS) if (out[k] === 0) delete out[k];
  return out;
}

/** The state a new reward takes: `available` at once when its lock is 0, else `locked` until `unlockAt`. */
export function initialState(nowMs: number, lockSeconds: number): { state: EntryState; unlockAt: string } {
  const unlockAt = new Date(nowMs + lockSeconds * 1000).toISOString();
  return { state: lockSeconds > 0 ? 'locked' : 'available', unlockAt };
}

/**
 * How a reversal is recorded against its commission. It follows the commission: while the
 * commission is locked the reversal is locked too, with the same `unlockAt` (they become
 * available together, netting to what the KOL keeps); once the commission is available, in a
 * payout or paid, the reversal is available at once (a clawback: available may go negative
 * and the next payout nets it); a held commission's reversal is held with it; a rejected
 * commission's reversal is recorded void (`rejected`), since nothing was ever owed.
 */
export function reversalPlacement(
  commission: Pick<LedgerEntry, 'state' | 'held' | 'unlockAt'>,
  nowIso: string,
): { state: EntryState; held: boolean; unlockAt: string } {
  if (commission.state === 'rejected') return { state: 'rejected', held: false, unlockAt: nowIso };
  if (commission.state === 'locked') return { state: 'locked', held: commission.held, unlockAt: commission.unlockAt };
  return { state: 'available', held: commission.held, unlockAt: nowIso };
}

/** A reversal never takes back more than what is left of the commission. */
export function clampReversal(requested: number, commissionAmount: number, reversedSoFar: number): number {
  return Math.max(0, Math.min(requested, commissionAmount - reversedSoFar));
}

/** What a payee must have available to be paid: the payout's minimum and every commission campaign's minPayout. */
export function payoutThreshold(minAmount: number, campaignMinPayouts: number[]): number {
  return Math.max(minAmount, ...campaignMinPayouts);
}

/** A payee is paid when the net of its available entries (reversals included) reaches the threshold. */
export function isEligible(availableTotal: number, threshold: number): boolean {
  return availableTotal > 0 && availableTotal >= threshold;
}

/** An amount in minor units as a decimal string (`1999` → `19.99`, `-5` → `-0.05`); points have no decimals. */
export function formatAmount(amount: number, asset: Asset): string {
  if (asset === 'points') return String(amount);
  const abs = Math.abs(amount);
  const sign = amount < 0 ? '-' : '';
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export const CSV_HEADER = [
  'id',
  'createdAt',
  'payeeId',
  'asset',
  'kind',
  'amount',
  'amountFormatted',
  'state',
  'held',
  'causeType',
  'causeId',
  'unlockAt',
  'payoutId',
];

/** One CSV field: quoted when needed; text that a spreadsheet would run as a formula is defused with `'`. */
export function csvField(v: string | number | boolean | undefined): string {
  if (v === undefined) return '';
  if (typeof v !== 'string') return String(v);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV line (CRLF-terminated, RFC 4180) for an entry. */
export function csvLine(e: LedgerEntry): string {
  return `${[
    csvField(e.id),
    csvField(e.createdAt),
    csvField(e.payeeId),
    csvField(e.asset),
    csvField(e.kind),
    e.amount,
    formatAmount(e.amount, e.asset),
    csvField(e.state),
    e.held,
    csvField(e.cause.type),
    csvField(e.cause.id),
    csvField(e.unlockAt),
    csvField(e.payoutId),
  ].join(',')}\r\n`;
}

export const csvHeaderLine = () => `${CSV_HEADER.join(',')}\r\n`;

/** The UTC days from `from` to `to` inclusive (`YYYY-MM-DD`). */
export function daysBetween(fromIso: string, toIso: string): string[] {
  const out: string[] = [];
  let t = Date.parse(`${fromIso.slice(0, 10)}T00:00:00.000Z`);
  const end = Date.parse(toIso);
  while (t <= end) {
    out.push(new Date(t).toISOString().slice(0, 10));
    t += 86_400_000;
  }
  return out;
}

export interface ReconciliationCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Reconciliation {
  ok: boolean;
  totals: Record<string, unknown>;
  checks: ReconciliationCheck[];
}

/** Names at most this many failing items in a check's detail (and says how many more). */
const MAX_NAMED = 50;

/** ` (N still being created)` when some payouts are `creating`, else nothing. */
function creating(payouts: readonly { status: string }[]): string {
  const n = payouts.filter((p) => p.status === 'creating').length;
  return n > 0 ? ` (${n} still being created)` : '';
}

/** ` (N being confirmed)` when some payouts are `confirming`, else nothing. */
function confirming(payouts: readonly { status: string }[]): string {
  const n = payouts.filter((p) => p.status === 'confirming').length;
  return n > 0 ? ` (${n} payouts being confirmed)` : '';
}

function describe(failures: string[], okText: string): string {
  if (failures.length === 0) return okText;
  const named = failures.slice(0, MAX_NAMED).join('; ');
  return failures.length > MAX_NAMED ? `${named}; … and ${failures.length - MAX_NAMED} more` : named;
}

export const CHECKS = [
  'balances_match_entries',
  'paid_entries_in_one_confirmed_payout',
  'no_cause_settled_twice',
  'reversals_within_commission',
  'payout_totals_match',
  'negative_available_reported',
  'attributed_orders_in_ledger',
  'rewarded_invites_in_ledger',
] as const;
export type CheckName = (typeof CHECKS)[number];
/** The checks of what owes money against the ledger, present when the sources were read. */
const SOURCE_CHECKS: readonly CheckName[] = ['attributed_orders_in_ledger', 'rewarded_invites_in_ledger'];

/** ` (N recorded in the last M minutes still settling)` when some are, else nothing. */
function settling(n: number, sources: SourcesChecked): string {
  return n > 0 ? ` (${n} recorded in the last ${sources.graceMinutes} minutes still settling)` : '';
}

/**
 * One failing item of a check. `payeeId` when it compares records one payee's transactions
 * write together (its balances, its entries, its payout lines, with the headers of those
 * payouts); `payoutId` when it compares a payout's header with its lines; neither when it
 * compares only what never changes once written (entry ids, causes and amounts).
 */
export interface Finding {
  check: CheckName;
  text: string;
  payeeId?: string;
  payoutId?: string;
}

/** What the cross-check of the sources that owe money read (see `checkSources`); its failures come as findings. */
export interface SourcesChecked {
  /** Orders with commission and refunds that reverse some recorded in the period, and how many still settle. */
  orders: { orders: number; refunds: number; settling: number };
  /** Invites that qualified with a reward in the period, and how many of their entries still settle. */
  invites: { invites: number; settling: number };
  /** How recent a source without its entry may be and still count as settling. */
  graceMinutes: number;
  from: string;
  to: string;
}

export interface ReconcileInput {
  entries: LedgerEntry[];
  balances: Balance[];
  balanceEntries: LedgerEntry[];
  payouts: Payout[];
  payoutItems: PayoutItem[];
}

/**
 * Every failing item of every reconciliation check, computed from the entries themselves:
 * - `balances_match_entries`: per payee and asset, each stored bucket equals the sum of the entries in it;
 * - `paid_entries_in_one_confirmed_payout`: a paid entry names a confirmed payout (or one being confirmed) whose line
 *   for its payee lists it (an entry holds one payout id, so it cannot be in two); an in_payout entry's payout is
 *   still being created, pending or being confirmed; no entry is listed on two live lines;
 * - `no_cause_settled_twice`: no two entries share (cause, payee, kind), and each id is the one its cause derives;
 * - `reversals_within_commission`: reversals never add up to more than the commission they reverse;
 * - `payout_totals_match`: a payout's total is the sum of its live lines, and each line the sum of its entries;
 * - `negative_available_reported`: a negative available balance is shown as it is (not clamped).
 * `balanceEntries` holds every entry of the payees whose balances are checked; `entries` is the period's.
 */
export function findFailures(input: ReconcileInput): Finding[] {
  const { entries, balances, balanceEntries, payouts, payoutItems } = input;
  const out: Finding[] = [];

  const byBalance = groupByBalance(balanceEntries);
  const seenBalances = new Set<string>();
  for (const b of balances) {
    const k = `${b.payeeId}/${b.asset}`;
    seenBalances.add(k);
    const sum = sumEntries(byBalance.get(k) ?? []);
    for (const bucket of BUCKETS)
      if ((b[bucket] ?? 0) !== sum[bucket])
        out.push({
          check: 'balances_match_entries',
          payeeId: b.payeeId,
          text: `${b.payeeId} ${b.asset} ${bucket}: balance ${b[bucket] ?? 0} ≠ entries ${sum[bucket]}`,
        });
  }
  for (const [k, list] of byBalance)
    if (!seenBalances.has(k) && list.some((e) => e.state !== 'rejected'))
      out.push({
        check: 'balances_match_entries',
        payeeId: list[0]!.payeeId,
        text: `${k.replace('/', ' ')}: entries exist but no balance`,
      });

  const payoutById = new Map(payouts.map((p) => [p.id, p]));
  const itemByKey = new Map(
    payoutItems.map((i) => [`${i.payoutId}/${i.payeeId}`, { ...i, listed: new Set(i.entryIds) }]),
  );
  const paidCheck = (e: LedgerEntry, text: string): Finding => ({
    check: 'paid_entries_in_one_confirmed_payout',
    payeeId: e.payeeId,
    text,
  });
  for (const e of entries) {
    if (e.state !== 'paid' && e.state !== 'in_payout') continue;
    const p = e.payoutId ? payoutById.get(e.payoutId) : undefined;
    const item = e.payoutId ? itemByKey.get(`${e.payoutId}/${e.payeeId}`) : undefined;
    if (!p || !item)
      out.push(paidCheck(e, `${e.id} (${e.state}) names no payout line (payout ${e.payoutId ?? 'none'})`));
    else if (!item.listed.has(e.id)) out.push(paidCheck(e, `${e.id} is not listed on payout ${p.id}`));
    else if (e.state === 'paid' && p.status !== 'confirmed' && p.status !== 'confirming')
      out.push(paidCheck(e, `${e.id} is paid but payout ${p.id} is ${p.status}`));
    else if (e.state === 'in_payout' && p.status === 'confirmed')
      out.push(paidCheck(e, `${e.id} is in_payout but payout ${p.id} is ${p.status}`));
  }
  const listedIn = new Map<string, PayoutItem[]>();
  for (const i of payoutItems) if (i.status !== 'failed') for (const id of i.entryIds) pushTo(listedIn, id, i);
  for (const [id, lines] of listedIn)
    if (lines.length > 1)
      out.push({
        check: 'paid_entries_in_one_confirmed_payout',
        payeeId: lines[0]!.payeeId,
        text: `${id} is listed on ${lines.length} payouts: ${lines.map((l) => l.payoutId).join(', ')}`,
      });

  const byCause = new Map<string, string[]>();
  const badIds: Finding[] = [];
  for (const e of entries) {
    const k = `${e.cause.type}:${e.cause.id}/${e.payeeId}/${e.kind}`;
    pushTo(byCause, k, e.id);
    if (e.id !== entryIdFor(e.cause.type, e.cause.id, e.payeeId, e.kind))
      badIds.push({
        check: 'no_cause_settled_twice',
        text: `${e.id} is not the id its cause ${e.cause.type}:${e.cause.id} derives`,
      });
  }
  for (const [k, ids] of byCause)
    if (ids.length > 1) out.push({ check: 'no_cause_settled_twice', text: `${k} settled by ${ids.join(', ')}` });
  out.push(...badIds);

  const entryById = new Map([...balanceEntries, ...entries].map((e) => [e.id, e]));
  for (const [cid, total] of reversedPerCommission(entries, balanceEntries)) {
    const c = entryById.get(cid);
    if (c && total > c.amount)
      out.push({ check: 'reversals_within_commission', text: `${cid}: reversed ${total} of ${c.amount}` });
  }

  const liveLines = new Map<string, PayoutItem[]>();
  for (const i of payoutItems) if (i.status !== 'failed') pushTo(liveLines, i.payoutId, i);
  for (const p of payouts) {
    const lines = liveLines.get(p.id) ?? [];
    const sum = lines.reduce((s, i) => s + i.amount, 0);
    // A payout still being created has no total yet: its lines are checked, its header is not.
    if (p.status !== 'creating' && sum !== p.total)
      out.push({
        check: 'payout_totals_match',
        payoutId: p.id,
        text: `payout ${p.id}: total ${p.total} ≠ lines ${sum}`,
      });
    for (const line of lines) {
      // Each page was written with the entries it moved, so it agrees with them at any moment. The
      // line's amount gathers its pages, which a read may meet half-way while the payout is created.
      const parts = line.pages ?? [{ entryIds: line.entryIds, amount: line.amount }];
      for (const part of parts) {
        const known = part.entryIds.map((id) => entryById.get(id)).filter((e): e is LedgerEntry => Boolean(e));
        if (known.length !== part.entryIds.length) continue;
        const sum = known.reduce((s, e) => s + e.amount, 0);
        if (sum !== part.amount)
          out.push({
            check: 'payout_totals_match',
            text: `payout ${p.id} line ${line.payeeId}: amount ${part.amount} ≠ entries ${sum}`,
          });
      }
      const pagesSum = parts.reduce((s, part) => s + part.amount, 0);
      if (line.pages && p.status !== 'creating' && pagesSum !== line.amount)
        out.push({
          check: 'payout_totals_match',
          payoutId: p.id,
          text: `payout ${p.id} line ${line.payeeId}: amount ${line.amount} ≠ its moves ${pagesSum}`,
        });
    }
  }

  for (const b of balances) {
    const sum = sumEntries(byBalance.get(`${b.payeeId}/${b.asset}`) ?? []);
    if (sum.available < 0 && b.available !== sum.available)
      out.push({
        check: 'negative_available_reported',
        payeeId: b.payeeId,
        text: `${b.payeeId} ${b.asset}: negative available hidden (shown ${b.available})`,
      });
  }
  return out;
}

function groupByBalance(entries: LedgerEntry[]): Map<string, LedgerEntry[]> {
  const out = new Map<string, LedgerEntry[]>();
  for (const e of entries) pushTo(out, `${e.payeeId}/${e.asset}`, e);
  return out;
}

/** Appends `value` to the list at `key` (in place: reconciliation groups tens of thousands of entries). */
function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function reversedPerCommission(entries: LedgerEntry[], balanceEntries: LedgerEntry[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of new Map([...entries, ...balanceEntries].map((x) => [x.id, x])).values())
    if (e.kind === 'commission_reversal' && e.reverses) out.set(e.reverses, (out.get(e.reverses) ?? 0) - e.amount);
  return out;
}

/**
 * The reconciliation answer: each check of `findFailures` with the items that fail it (by
 * default, every failing item of `input`; the caller may pass those that held on a re-read),
 * and totals from `input`. `unsettled` names what kept changing on every re-read, so was not
 * compared; it is listed in `totals.unsettled` and fails nothing. With `sources`, the answer
 * has their cross-checks too (`attributed_orders_in_ledger`, `rewarded_invites_in_ledger`,
 * failing on their findings).
 */
export function reconcile(
  input: ReconcileInput,
  failures: Finding[] = findFailures(input),
  unsettled: string[] = [],
  sources?: SourcesChecked,
): Reconciliation {
  const { entries, balances, balanceEntries, payouts } = input;
  const failing = (name: CheckName) => failures.filter((f) => f.check === name).map((f) => f.text);
  const paidCount = entries.filter((e) => e.state === 'paid').length;
  const causes = new Set(entries.map((e) => `${e.cause.type}:${e.cause.id}/${e.payeeId}/${e.kind}`)).size;
  const negatives = balances
    .filter((b) => b.available < 0)
    .map((b) => `${b.payeeId} ${b.asset} available ${b.available} (carried into the next payout)`);
  const okText: Record<CheckName, string> = {
    balances_match_entries: `${balances.length} balances equal the sum of their entries`,
    paid_entries_in_one_confirmed_payout: `${paidCount} paid entries each in exactly one confirmed payout${confirming(payouts)}`,
    no_cause_settled_twice: `${causes} causes, each settled once`,
    reversals_within_commission: `${reversedPerCommission(entries, balanceEntries).size} reversed commissions within their amount`,
    payout_totals_match: `${payouts.length} payouts add up${creating(payouts)}`,
    negative_available_reported:
      negatives.length > 0
        ? `negative available balances, shown as they are: ${describe(negatives, '')}`
        : 'no negative available balance',
    attributed_orders_in_ledger: sources
      ? `${sources.orders.orders} orders with commission recorded ${sources.from} – ${sources.to} and ` +
        `${sources.orders.refunds} refunds reversing commission are in the ledger${settling(sources.orders.settling, sources)}`
      : '',
    rewarded_invites_in_ledger: sources
      ? `${sources.invites.invites} invites rewarded ${sources.from} – ${sources.to} are in the ledger` +
        settling(sources.invites.settling, sources)
      : '',
  };
  const note = unsettled.length > 0 ? `; not compared, changing on every re-read: ${describe(unsettled, '')}` : '';
  const names = CHECKS.filter((name) => sources || !SOURCE_CHECKS.includes(name));
  const checks: ReconciliationCheck[] = names.map((name) => {
    const f = failing(name);
    const ok = SOURCE_CHECKS.includes(name) ? okText[name] : `${okText[name]}${note}`;
    return { name, ok: f.length === 0, detail: f.length ? describe(f, '') : ok };
  });

  const byAsset: Record<string, Buckets & { entries: number; total: number }> = {};
  for (const e of entries) {
    byAsset[e.asset] ??= { ...emptyBuckets(), entries: 0, total: 0 };
    const t = byAsset[e.asset]!;
    t.entries++;
    const bucket = bucketOf(e.state, e.held);
    if (bucket) {
      t[bucket] += e.amount;
      t.total += e.amount;
    }
  }
  const byKind: Record<string, number> = {};
  for (const e of entries) if (e.state !== 'rejected') byKind[e.kind] = (byKind[e.kind] ?? 0) + e.amount;
  return {
    ok: checks.every((c) => c.ok),
    totals: {
      entries: entries.length,
      balances: balances.length,
      payouts: payouts.length,
      negativeAvailable: negatives.length,
      byAsset,
      byKind,
      ...(unsettled.length > 0 ? { unsettled } : {}),
      ...(sources ? { sources } : {}),
    },
    checks,
  };
}

/** One payee's balance change within a transaction. */
export interface BalanceChange {
  payeeId: string;
  asset: Asset;
  delta: Partial<Buckets>;
  /** The change may make available non-zero: put the balance in the payable index. */
  payable: boolean;
}

/** Merges changes to the same balance (a transaction may touch each item only once). */
export function mergeBalanceChanges(changes: BalanceChange[]): BalanceChange[] {
  const byKey = new Map<string, BalanceChange>();
  for (const c of changes) {
    const k = `${c.payeeId}\u0000${c.asset}`;
    const prev = byKey.get(k);
    byKey.set(
      k,
      prev
        ? { ...prev, delta: addDeltas(prev.delta, c.delta), payable: prev.payable || c.payable }
        : { ...c, delta: addDeltas(c.delta) },
    );
  }
  return [...byKey.values()];
}

/** Splits a list into chunks (a transaction holds at most 100 writes). */
export function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Longest period a day-by-day export or reconciliation covers. */
export const MAX_PERIOD_DAYS = 366;
/** The period when none is given: the last 31 days. */
export const DEFAULT_PERIOD_DAYS = 31;

/**
 * The period of an export or reconciliation: `to` defaults to now (to `from` itself when `from`
 * is still ahead, an empty period) and `from` to 31 days before `to`; `from` after a given `to`,
 * or a span over 366 days, is refused.
 */
export function resolvePeriod(
  q: { from?: string; to?: string },
  nowMs: number,
): { from: string; to: string } | { error: string } {
  const now = new Date(nowMs).toISOString();
  const to = q.to ?? (q.from !== undefined && q.from > now ? q.from : now);
  const from = q.from ?? new Date(Date.parse(to) - DEFAULT_PERIOD_DAYS * 86_400_000).toISOString();
  if (from > to) return { error: 'from must not be after to' };
  if (Date.parse(to) - Date.parse(from) > MAX_PERIOD_DAYS * 86_400_000)
    return { error: `a period spans at most ${MAX_PERIOD_DAYS} days` };
  return { from, to };
}

/** The sort key of an entry in every listing: `createdAt#id`. */
export const entryOrderKey = (e: Pick<LedgerEntry, 'createdAt' | 'id'>) => `${e.createdAt}#${e.id}`;

/**
 * Merges one page read from each shard of a day index into the next `need` entries in
 * (createdAt, id) order. `after[s]` is where shard `s` resumes (null: its start; false: done).
 * A shard that may hold more than it returned bounds what can be taken (nothing past its last
 * entry), so the merge never skips an entry it has not read yet.
 */
export function mergeShardPages(
  pages: ({ items: LedgerEntry[]; more: boolean } | undefined)[],
  after: (string | null | false)[],
  need: number,
): { taken: LedgerEntry[]; after: (string | null | false)[] } {
  let horizon: string | undefined;
  for (const p of pages)
    if (p?.more && p.items.length) {
      const last = entryOrderKey(p.items[p.items.length - 1]!);
      if (horizon === undefined || last < horizon) horizon = last;
    }
  const candidates = pages
    .flatMap((p, s) => (p ? p.items.map((e) => ({ e, s, k: entryOrderKey(e) })) : []))
    .filter((x) => horizon === undefined || x.k <= horizon)
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .slice(0, need);
  const next = [...after];
  pages.forEach((p, s) => {
    if (!p) return;
    const mine = candidates.filter((x) => x.s === s);
    if (mine.length === p.items.length) next[s] = p.more ? (mine.length ? mine[mine.length - 1]!.k : after[s]!) : false;
    else if (mine.length) next[s] = mine[mine.length - 1]!.k;
  });
  return { taken: candidates.map((x) => x.e), after: next };
}
