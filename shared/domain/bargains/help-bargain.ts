import { iso, utcDay } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { BusyError, NotFoundError } from '../../errors.ts';
import { outboxPut } from '../../events/outbox.ts';
import { madeByRequest } from '../../http/idempotency.ts';
import { type BargainUser, helpsOnDay, readForHelp, recordHelp } from '../../store/bargains.ts';
import type { TxItem } from '../../store/store.ts';
import { maskName } from '../mask.ts';
import { withTurn } from '../turns.ts';
import type { BargainChain, BargainHelp, HelpResult } from './bargain.schema.ts';
import { assertCampaignActive } from './campaign-gate.ts';
import { nextCut } from './cut-schedule.ts';
import {
  AlreadyHelpedError,
  BargainClosedError,
  BargainExpiredError,
  ChainMovedError,
  DailyHelpLimitError,
  effectiveStatus,
  SelfHelpForbiddenError,
  secondsUntilNextUtcDay,
} from './rules.ts';

/** Helps of one chain in flight at once in one process; the rest wait their turn in order. */
export const HELPS_IN_FLIGHT_PER_CHAIN = 4;
/** Longest pause between two tries of one help. */
const MAX_BACKOFF_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type HelpInput = {
  chainId: string;
  helperId: string;
  helperName?: string;
  via?: { visitorId?: string; ref?: string };
  /** From the request's Idempotency-Key: a retry of a help that landed (its answer lost) answers it again. */
  requestKey?: string;
};

/** The answer a help gave. */
const resultOf = (help: BargainHelp, chain: BargainChain): HelpResult => ({
  cut: help.cut,
  price: help.price,
  helperCount: help.position,
  status: help.position === chain.helpersRequired ? 'completed' : 'active',
});

/** Refuses a help the chain as read cannot take: expired (410) or completed/purchased (409). */
function assertHelpable(chain: BargainChain, nowMs: number): void {
  const status = effectiveStatus(chain, nowMs);
  if (status === 'expired') throw new BargainExpiredError();
  if (status !== 'active') throw new BargainClosedError();
}

/**
 * One help: one read (the chain, its schedule and the helper's record) and one transaction written from
 * that state. When another help landed first, the transaction's condition on `helperCount`
 * fails; the help is read and computed again from the chain as it now is. Each such retry means
 * the chain advanced, so the loop ends within `helpersRequired` rounds (conflicts aside).
 */
export async function helpBargain(deps: Deps, input: HelpInput): Promise<HelpResult> {
  const maxAttempts = 520;
  let checkedCampaign = false;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const outcome = await withTurn(deps.store, input.chainId, HELPS_IN_FLIGHT_PER_CHAIN, async () => {
      const { chain, schedule, helper, help } = await readForHelp(deps.store, input.chainId, input.helperId);
      if (!chain) throw new NotFoundError('bargain chain');
      if (chain.initiatorId === input.helperId) throw new SelfHelpForbiddenError();
      // Before the chain's state: a helper retrying a help whose answer was lost hears that it
      // landed, with its own answer again when the retry carries the help's Idempotency-Key.
      if (help) {
        if (madeByRequest(help.requestKey, help.helpedAt, input.requestKey, deps.clock.now()))
          return resultOf(help, chain);
        throw new AlreadyHelpedError();
      }
      // The campaign before the chain: one that ended (by PATCH or at its `endsAt`, which also
      // ends its chains) or is paused answers 409 `campaign_inactive`, however its chain stands.
      if (!checkedCampaign) {
        await assertCampaignActive(deps, chain.campaignId);
        checkedCampaign = true;
      }
      assertHelpable(chain, deps.clock.now());
      const now = deps.clock.now();
      if (Number(helper?.[helpsOnDay(utcDay(now))] ?? 0) >= chain.maxHelpsPerUserPerDay)
        throw new DailyHelpLimitError(secondsUntilNextUtcDay(now));
      return tryHelp(deps, input, chain, schedule, helper);
    });
    if (outcome) return outcome;
    await sleep(Math.random() * Math.min(MAX_BACKOFF_MS, 5 * 2 ** attempt));
  }
  throw new BusyError('The chain is too busy right now; try again.');
}

/** One try from the chain as read: the result, or undefined when the chain moved on first. */
async function tryHelp(
  deps: Deps,
  input: HelpInput,
  chain: BargainChain,
  schedule: number[],
  helper: BargainUser | undefined,
): Promise<HelpResult | undefined> {
  const newUser = !helper?.firstSeenAt;
  const { store, clock } = deps;
  // Written with the chain in one transaction; an eventually consistent read may still miss it: read again.
  if (schedule.length !== chain.helpersRequired) return undefined;
  const now = clock.now();
  const displayName = maskName(input.helperName);
  const cut = nextCut({
    schedule,
    helperCount: chain.helperCount,
    remaining: chain.price - chain.floorPrice,
    bonus: newUser && chain.newUserBonus,
  });
  const help: BargainHelp = {
    chainId: chain.id,
    helperId: input.helperId,
    ...(displayName ? { displayName } : {}),
    cut,
    price: chain.price - cut,
    position: chain.helperCount + 1,
    newUser,
    helpedAt: iso(now),
    ...(input.requestKey ? { requestKey: input.requestKey } : {}),
  };
  const completes = help.position === chain.helpersRequired;
  const events: TxItem[] = [
    outboxPut(
      'BargainHelped',
      {
        chainId: chain.id,
        campaignId: chain.campaignId,
        helperId: input.helperId,
        cut,
        price: help.price,
        helperCount: help.position,
        ...(input.via ? { via: input.via } : {}),
      },
      clock,
    ),
  ];
  if (completes)
    events.push(
      outboxPut(
        'BargainCompleted',
        {
          chainId: chain.id,
          campaignId: chain.campaignId,
          initiatorId: chain.initiatorId,
          sku: chain.sku,
          price: help.price,
          entitlementId: chain.entitlementId,
        },
        clock,
      ),
    );
  try {
    await recordHelp(store, {
      chain,
      help,
      helper,
      day: utcDay(now),
      nowIso: help.helpedAt,
      retryAfterSeconds: secondsUntilNextUtcDay(now),
      events,
    });
    return resultOf(help, chain);
  } catch (e) {
    if (e instanceof ChainMovedError) {
      // The chain as it was when the condition failed: answer at once when it is closed or expired.
      if (e.chain) assertHelpable(e.chain, now);
      return undefined;
    }
    if ((e as Error).name === 'TransactionCanceledException') return undefined;
    throw e;
  }
}
