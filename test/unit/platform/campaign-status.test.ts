import { describe, expect, it } from 'vitest';
import { effectiveStatus, withEffectiveStatus } from '#shared/domain/campaigns/effective-status';
import type { StoredCampaign } from '#shared/store/campaigns';

const at = (s: string) => Date.parse(`2026-12-01T${s}:00.000Z`);
const base: StoredCampaign = {
  id: 'cmp_1',
  type: 'commission',
  title: 't',
  status: 'ended',
  rules: { rateBps: 100 } as StoredCampaign['rules'],
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T04:00:00.000Z',
  statusChanges: [
    { status: 'paused', at: '2026-12-01T01:00:00.000Z' },
    { status: 'active', at: '2026-12-01T02:00:00.000Z' },
    { status: 'ended', at: '2026-12-01T03:00:00.000Z' },
  ],
};

describe('Function: effectiveStatus', () => {
  it('tells the status an admin had set at any moment from the recorded changes', () => {
    expect(
      ['00:30', '01:00', '01:59', '02:00', '02:59', '03:00', '09:00'].map((t) => effectiveStatus(base, at(t))),
    ).toEqual(['active', 'paused', 'paused', 'active', 'active', 'ended', 'ended']);
  });

  it('takes the latest change by then even when the log is out of order (two instances, two clocks)', () => {
    const shuffled = {
      ...base,
      statusChanges: [base.statusChanges![1]!, base.statusChanges![0]!, base.statusChanges![2]!],
    };
    expect(['01:30', '02:30', '03:30'].map((t) => effectiveStatus(shuffled, at(t)))).toEqual([
      'paused',
      'active',
      'ended',
    ]);
  });

  it('keeps dates first: before startsAt scheduled, from endsAt ended, whatever was set', () => {
    const c = { ...base, startsAt: '2026-12-01T00:20:00.000Z', endsAt: '2026-12-01T02:30:00.000Z' };
    expect(['00:10', '00:30', '02:10', '02:40'].map((t) => effectiveStatus(c, at(t)))).toEqual([
      'scheduled',
      'active',
      'active',
      'ended',
    ]);
  });

  it('takes the status as it is for a campaign with no recorded changes, and shows no change log', () => {
    const { statusChanges: _, ...old } = base;
    expect(effectiveStatus({ ...old, status: 'paused' }, at('00:30'))).toBe('paused');
    expect(withEffectiveStatus(base, at('09:00'))).not.toHaveProperty('statusChanges');
  });
});
