import { describe, expect, it } from 'vitest';
import type { BargainChain, BargainHelp } from '#shared/domain/bargains/bargain.schema';
import {
  effectiveStatus,
  entitlementIdFor,
  helperViews,
  secondsUntilNextUtcDay,
  toView,
} from '#shared/domain/bargains/rules';
import { expiresWithinCampaign } from '#shared/domain/campaigns/effective-status';
import { CampaignInactiveError } from '#shared/errors';

const chain: BargainChain = {
  id: 'brg_01ABC',
  campaignId: 'cmp_1',
  initiatorId: 'u-init',
  status: 'active',
  sku: 'sku-1',
  originalPrice: 1000,
  floorPrice: 100,
  price: 1000,
  helpersRequired: 3,
  helperCount: 0,
  maxHelpsPerUserPerDay: 5,
  allowBuyAtCurrentPrice: false,
  newUserBonus: false,
  entitlementId: 'ent_01ABC',
  expiresAt: '2026-11-24T10:10:00.000Z',
  createdAt: '2026-11-24T10:00:00.000Z',
  updatedAt: '2026-11-24T10:00:00.000Z',
};

describe('Function: effectiveStatus', () => {
  it('reads an active chain as expired from expiresAt on, and leaves final states alone', () => {
    const at = Date.parse(chain.expiresAt);
    expect(effectiveStatus(chain, at - 1)).toBe('active');
    expect(effectiveStatus(chain, at)).toBe('expired');
    expect(effectiveStatus({ ...chain, status: 'completed' }, at + 1)).toBe('completed');
    expect(effectiveStatus({ ...chain, status: 'purchased' }, at + 1)).toBe('purchased');
  });
});

describe('Function: expiresWithinCampaign', () => {
  it('lasts durationSeconds but never past the campaign end', () => {
    const now = Date.parse('2026-11-24T10:00:00.000Z');
    expect(expiresWithinCampaign(now, 60)).toBe('2026-11-24T10:01:00.000Z');
    expect(expiresWithinCampaign(now, 3600, '2026-11-24T10:05:00.000Z')).toBe('2026-11-24T10:05:00.000Z');
    // The campaign ended after it was found active: nothing starts already expired.
    expect(() => expiresWithinCampaign(now, 3600, '2026-11-24T10:00:00.000Z')).toThrow(CampaignInactiveError);
  });
});

describe('Function: secondsUntilNextUtcDay', () => {
  it('counts to the next UTC midnight, at least 1', () => {
    expect(secondsUntilNextUtcDay(Date.parse('2026-11-24T23:59:00.000Z'))).toBe(60);
    expect(secondsUntilNextUtcDay(Date.parse('2026-11-24T00:00:00.000Z'))).toBe(86400);
    expect(secondsUntilNextUtcDay(Date.parse('2026-11-24T23:59:59.999Z'))).toBe(1);
  });
});

describe('Function: entitlementIdFor', () => {
  it('derives the same entitlement id from the chain id every time', () => {
    expect(entitlementIdFor('brg_01ABC')).toBe('ent_01ABC');
    expect(entitlementIdFor('brg_01ABC')).toBe(entitlementIdFor('brg_01ABC'));
  });
});

describe('Function: toView / helperViews', () => {
  const helps: BargainHelp[] = [
    {
      chainId: chain.id,
      helperId: 'u-b',
      displayName: 'B***',
      cut: 300,
      price: 200,
      position: 2,
      newUser: false,
      helpedAt: 't2',
    },
    { chainId: chain.id, helperId: 'u-a', cut: 500, price: 500, position: 1, newUser: true, helpedAt: 't1' },
  ];

  it('lists helpers in order with masked names, and user ids only for the initiator', () => {
    expect(helperViews(helps, false)).toEqual([
      { cut: 500, helpedAt: 't1' },
      { displayName: 'B***', cut: 300, helpedAt: 't2' },
    ]);
    expect(helperViews(helps, true).map((h) => h.helperId)).toEqual(['u-a', 'u-b']);
  });

  it('builds the share URL and shows the entitlement only to the initiator of a completed chain', () => {
    const done = { ...chain, status: 'completed' as const };
    const now = Date.parse('2026-11-24T10:00:00.000Z');
    expect(toView(chain, 'https://h5.example.com/', 'u-x', now).shareUrl).toBe(
      'https://h5.example.com/bargains/brg_01ABC',
    );
    expect(toView(done, 'https://h5.example.com', 'u-init', now).entitlementId).toBe('ent_01ABC');
    expect(toView(done, 'https://h5.example.com', 'u-x', now).entitlementId).toBeUndefined();
    expect(toView(chain, 'https://h5.example.com', 'u-init', now).entitlementId).toBeUndefined();
  });
});
