import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acceptOutcome,
  firstOrderOutcome,
  INVITE_CODE_LENGTH,
  inviteUrl,
  sameDevice,
} from '#shared/domain/invites/invite-rules';
import { SHOP_CLOCK_SKEW_MS } from '#shared/domain/orders/order.schema';
import { CODE_PATTERN, randomCode } from '#shared/ids';

const action = fc.constantFrom('signup' as const, 'first_order' as const);
const isoTime = fc
  .integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') })
  .map((ms) => new Date(ms).toISOString());

describe('Function: sameDevice', () => {
  it('matches only two present, equal device ids, in either order', () => {
    fc.assert(
      fc.property(fc.option(fc.string(), { nil: undefined }), fc.option(fc.string(), { nil: undefined }), (a, b) => {
        expect(sameDevice(a, b)).toBe(Boolean(a) && a === b);
        expect(sameDevice(a, b)).toBe(sameDevice(b, a));
      }),
    );
  });

  it('never matches a missing id with another missing id', () => {
    expect(sameDevice(undefined, undefined)).toBe(false);
    expect(sameDevice('', '')).toBe(false);
  });
});

describe('Function: acceptOutcome', () => {
  it('never rewards an existing customer, whatever the campaign', () => {
    fc.assert(
      fc.property(action, fc.boolean(), (qualifyingAction, capReached) => {
        const o = acceptOutcome({ qualifyingAction, existingCustomer: true, capReached });
        expect(o).toEqual({ status: 'ineligible', rewarded: false, takesSlot: false, reason: 'existing_customer' });
      }),
    );
  });

  it('leaves first_order bindings pending, unrewarded and without a slot', () => {
    fc.assert(
      fc.property(fc.boolean(), (capReached) => {
        expect(acceptOutcome({ qualifyingAction: 'first_order', existingCustomer: false, capReached })).toEqual({
          status: 'pending',
          rewarded: false,
          takesSlot: false,
        });
      }),
    );
  });

  it('qualifies signup bindings at once, rewarded exactly while under the cap', () => {
    fc.assert(
      fc.property(fc.boolean(), (capReached) => {
        const o = acceptOutcome({ qualifyingAction: 'signup', existingCustomer: false, capReached });
        expect(o.status).toBe('qualified');
        expect(o.rewarded).toBe(!capReached);
        expect(o.takesSlot).toBe(o.rewarded);
      }),
    );
  });

  it('rewards at most `cap` of any sequence of accepts when each rewarded one takes a slot', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.record({ action, existingCustomer: fc.boolean() }), { maxLength: 60 }),
        (cap, accepts) => {
          let count = 0;
          let rewarded = 0;
          let eligibleSignups = 0;
          for (const a of accepts) {
            const o = acceptOutcome({
              qualifyingAction: a.action,
              existingCustomer: a.existingCustomer,
              capReached: count >= cap,
            });
            if (o.takesSlot) count++;
            if (o.rewarded) rewarded++;
            if (a.action === 'signup' && !a.existingCustomer) eligibleSignups++;
          }
          expect(rewarded).toBe(Math.min(cap, eligibleSignups));
          expect(count).toBe(rewarded);
        },
      ),
    );
  });
});

describe('Function: firstOrderOutcome', () => {
  it('makes a binding ineligible exactly when the order was paid before the accept, beyond the shop’s clock skew', () => {
    const near = fc
      .tuple(isoTime, fc.integer({ min: -2 * SHOP_CLOCK_SKEW_MS, max: 2 * SHOP_CLOCK_SKEW_MS }))
      .map(([acceptedAt, d]) => [new Date(Date.parse(acceptedAt) + d).toISOString(), acceptedAt] as const);
    fc.assert(
      fc.property(
        fc.oneof(fc.tuple(isoTime, isoTime), near),
        fc.boolean(),
        fc.boolean(),
        ([paidAt, acceptedAt], capReached, campaignActive) => {
          const o = firstOrderOutcome({ paidAt, acceptedAt, capReached, campaignActive });
          if (Date.parse(paidAt) < Date.parse(acceptedAt) - SHOP_CLOCK_SKEW_MS)
            expect(o).toMatchObject({ status: 'ineligible', rewarded: false, takesSlot: false });
          else if (!campaignActive)
            expect(o).toEqual({ status: 'qualified', rewarded: false, takesSlot: false, reason: 'campaign_inactive' });
          else expect(o).toMatchObject({ status: 'qualified', rewarded: !capReached, takesSlot: !capReached });
        },
      ),
    );
    const accepted = '2026-12-01T10:00:00.000Z';
    expect(
      firstOrderOutcome({
        paidAt: '2026-12-01T09:55:00.000Z',
        acceptedAt: accepted,
        capReached: false,
        campaignActive: true,
      }).status,
    ).toBe('qualified');
    expect(
      firstOrderOutcome({
        paidAt: '2026-12-01T09:54:59.999Z',
        acceptedAt: accepted,
        capReached: false,
        campaignActive: true,
      }).status,
    ).toBe('ineligible');
  });
});

describe('Function: inviteUrl', () => {
  it('puts the code under /invites of the H5 base, with or without a trailing slash', () => {
    expect(inviteUrl('https://h5.example.com', 'abc23456')).toBe('https://h5.example.com/invites/abc23456');
    expect(inviteUrl('https://h5.example.com/app//', 'abc23456')).toBe('https://h5.example.com/app/invites/abc23456');
  });
});

describe('Invite codes', () => {
  it('are short, from the unambiguous alphabet, and do not repeat', () => {
    const codes = Array.from({ length: 5000 }, () => randomCode(INVITE_CODE_LENGTH));
    for (const c of codes) {
      expect(c).toHaveLength(8);
      expect(c).toMatch(CODE_PATTERN);
      expect(c).not.toMatch(/[01ilo]/);
    }
    expect(new Set(codes).size).toBe(codes.length);
  });
});
