import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHarness, type Harness } from '../../support/harness.ts';

/** A request whose client had gone before it failed (a stop closing its connection) was never answered: WARN, not ERROR. */
describe('A request that fails after its client has gone', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterEach(() => vi.restoreAllMocks());

  /** GET /v1/bargains/{id} with the store failing as it does once the database is gone; `abort` closes the client first. */
  async function failingRead(abort: boolean) {
    const gone = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    vi.spyOn(h.deps.store, 'get').mockRejectedValue(gone);
    vi.spyOn(h.deps.store, 'queryAll').mockRejectedValue(gone);
    const warn = vi.spyOn(h.deps.log, 'warn');
    const error = vi.spyOn(h.deps.log, 'error');
    const client = new AbortController();
    if (abort) client.abort('Client connection prematurely closed.');
    const res = await h.app.fetch(
      new Request('http://localhost/v1/bargains/brg_1', {
        headers: { authorization: `Bearer ${h.token('u1')}` },
        signal: client.signal,
      }),
    );
    return { status: res.status, warn: warn.mock.calls.map((c) => c[0]), error: error.mock.calls.map((c) => c[0]) };
  }

  it('logs the failure and its 500 at WARN when the client had gone', async () => {
    const r = await failingRead(true);
    expect(r.status).toBe(500);
    expect(r.error).toEqual([]);
    expect(r.warn).toEqual(['request failed after its client had gone', 'request']);
  });

  it('logs them at ERROR when the client is still there', async () => {
    const r = await failingRead(false);
    expect(r.status).toBe(500);
    expect(r.error).toEqual(['unhandled error', 'request']);
    expect(r.warn).toEqual([]);
  });
});
