import { iso, utcDay } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import { outboxPut } from '../../events/outbox.ts';
import { readForHelp, recordHelp } from '../../store/bargains.ts';
import type { TxItem } from '../../store/store.ts';
import { maskName } from '../mask.ts';
import type { BargainChain, BargainHelp, HelpResult } from './bargain.schema.ts';
import { assertCampaignActive } from './campaign-gate.ts';
import { nextCut } from './cut-schedule.ts';
import {
  BargainClosedError,
  BargainExpiredError,
  ChainMovedError,
  effectiveStatus,
  SelfHelpForbiddenError,
  secondsUntilNextUtcDay,
} from './rules.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Refuses a help the chain as read cannot take: expired (410) or completed/purchased (409). */
function assertHelpable(chain: BargainChain, nowMs: number): void {
  const status = effectiveStatus(chain, nowMs);
  if (status === 'expired') throw new BargainExpiredError();
  if (status !== 'active') throw new BargainClosedError();
}

/**
 * One help: one read (the chain and the helper's seen marker) and one transaction written from
 * that state. When another help landed first, the transaction's condition on `helperCount`
 * fails and hands back the chain as it now is; the help is computed again from there. Each such
 * retry means the chain advanced, so the loop ends within `helpersRequired` rounds.
 */
export async function helpBargain(
  deps: Deps,
  input: { chainId: string; helperId: string; helperName?: string; via?: { visitorId?: string; ref?: string } },
): Promise<HelpResult> {
  const { store, clock } = deps;
  let { chain, seen } = await readForHelp(store, input.chainId, input.helperId);
  if (!chain) throw new NotFoundError('bargain chain');
  if (chain.initiatorId === input.helperId) throw new SelfHelpForbiddenError();
  assertHelpable(chain, clock.now());
  await assertCampaignActive(deps, chain.campaignId);
  const displayName = maskName(input.helperName);
  const maxAttempts = chain.helpersRequired + 20;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const now = clock.now();
    assertHelpable(chain, now);
    const newUser = !seen;
    const cut = nextCut({
      schedule: chain.schedule,
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
        day: utcDay(now),
        nowIso: help.helpedAt,
        retryAfterSeconds: secondsUntilNextUtcDay(now),
        events,
      });
      return { cut, price: help.price, helperCount: help.position, status: completes ? 'completed' : 'active' };
    } catch (e) {
      if (e instanceof ChainMovedError && e.chain) chain = e.chain;
      else if (e instanceof ChainMovedError || (e as Error).name === 'TransactionCanceledException') {
        await sleep(Math.random() * Math.min(50, 2 ** attempt));
        ({ chain, seen } = await readForHelp(store, input.chainId, input.helperId));
        if (!chain) throw new NotFoundError('bargain chain');
      } else throw e;
    }
  }
  throw new ConflictError('conflict', 'The chain is too busy right now; try again.');
}
