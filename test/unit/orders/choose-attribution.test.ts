import { describe, expect, it } from 'vitest';
import {
  type Candidate,
  type CandidateLink,
  chooseAttribution,
  isSelfReferral,
  type Program,
} from '#shared/domain/orders/choose-attribution';

const MIN = 60_000;
const PAID = Date.parse('2026-11-24T12:00:00.000Z');
const program = (id: string, model: Program['model'], windowMin = 60, active = true): Program => ({
  id,
  active,
  rateBps: 1000,
  model,
  attributionWindowSeconds: windowMin * 60,
});
const link = (code: string, campaignId?: string, extra: Partial<CandidateLink> = {}): CandidateLink => ({
  code,
  kind: 'kol',
  ownerId: `kol-${code}`,
  ...(campaignId ? { campaignId } : {}),
  ...extra,
});
const links = new Map([
  ['a', link('a', 'last')],
  ['b', link('b', 'last')],
  ['f1', link('f1', 'first')],
  ['f2', link('f2', 'first')],
  ['none', link('none')],
  ['paused', link('paused', 'paused')],
  ['s', { ...link('s', 'last'), kind: 'share' as const }],
]);
const programs = new Map([
  ['last', program('last', 'last_click')],
  ['first', program('first', 'first_click')],
  ['paused', program('paused', 'last_click', 60, false)],
]);
const at = (code: string, minutesBefore: number, source: Candidate['source'] = 'history'): Candidate => ({
  code,
  atMs: PAID - minutesBefore * MIN,
  source,
});
const pick = (...c: Candidate[]) => chooseAttribution(c, links, programs, PAID)?.candidate.code ?? null;

describe('chooseAttribution', () => {
  it.each([
    ['last click wins under last_click', [at('a', 30), at('b', 10)], 'b'],
    ['first click wins under first_click', [at('f1', 30), at('f2', 10)], 'f1'],
    ['the window edge is inside', [at('a', 60)], 'a'],
    ['past the window is outside', [at('a', 61)], null],
    ['first_click ignores clicks outside its window', [at('f1', 90), at('f2', 10)], 'f2'],
    ['no campaign: nothing', [at('none', 1)], null],
    ['paused campaign: nothing', [at('paused', 1)], null],
    ['share links earn nothing', [at('s', 1)], null],
    ['unknown links are skipped', [at('zzz', 1), at('a', 5)], 'a'],
    ['the newest click’s campaign decides the model', [at('a', 20), at('f1', 30), at('f2', 5)], 'f1'],
    [
      'a click well after payment does not count',
      [{ code: 'a', atMs: PAID + 10 * MIN, source: 'history' as const }],
      null,
    ],
  ])('%s', (_n, cands, expected) => {
    expect(pick(...(cands as Candidate[]))).toBe(expected);
  });

  it('prefers the token at equal times', () => {
    const c = chooseAttribution([at('a', 5), at('b', 5, 'token')], links, programs, PAID);
    expect(c?.candidate).toMatchObject({ code: 'b', source: 'token' });
  });

  it('holds self-referrals: the KOL buying, or clicking from the KOL’s device or visitor id', () => {
    const l = link('a', 'last', { ownerDeviceHash: 'dev', ownerVisitorId: 'kolvisitor' });
    const choice = (c: Partial<Candidate>) => ({
      candidate: { ...at('a', 1), ...c },
      link: l,
      program: programs.get('last')!,
    });
    expect(isSelfReferral(choice({}), { userId: 'kol-a' })).toBe(true);
    expect(isSelfReferral(choice({ deviceHash: 'dev' }), { userId: 'u' })).toBe(true);
    expect(isSelfReferral(choice({ visitorId: 'kolvisitor' }), { userId: 'u' })).toBe(true);
    expect(isSelfReferral(choice({}), { userId: 'u', visitorId: 'kolvisitor' })).toBe(true);
    expect(isSelfReferral(choice({ deviceHash: 'other', visitorId: 'v' }), { userId: 'u' })).toBe(false);
  });
});
