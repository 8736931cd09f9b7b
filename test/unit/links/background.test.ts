import { describe, expect, it } from 'vitest';
import { inBackground, settleClicks, settleClicksOf } from '#functions/links/background';

/** A promise settled from outside. */
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Whether `p` has settled once pending callbacks have run. */
async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setImmediate(r));
  return settled;
}

describe('background click recording', () => {
  it('answers at once while the backlog has room, then makes the next caller wait until a work settles', async () => {
    const works = [deferred(), deferred(), deferred()];

    const first = inBackground(works[0]!.promise, 2);
    const second = inBackground(works[1]!.promise, 2);
    const third = inBackground(works[2]!.promise, 2);

    expect(await isSettled(first)).toBe(true);
    expect(await isSettled(second)).toBe(true);
    expect(await isSettled(third)).toBe(false);
    works[0]!.resolve();
    expect(await isSettled(third)).toBe(true); // room again: the third answers while its own work goes on
    const settled = settleClicks();
    expect(await isSettled(settled)).toBe(false); // the second and third are still being written
    works[1]!.resolve();
    works[2]!.resolve();
    await settled;
  });

  it('waits for one subject’s clicks only', async () => {
    const mine = deferred();
    const theirs = deferred();
    await inBackground(mine.promise, 10, ['v:me', 'u:me']);
    await inBackground(theirs.promise, 10, ['v:them']);
    const forMe = settleClicksOf(['u:me']);
    expect(await isSettled(forMe)).toBe(false);
    mine.resolve();
    expect(await isSettled(forMe)).toBe(true); // theirs is still being written
    expect(await isSettled(settleClicksOf(['v:nobody']))).toBe(true);
    theirs.resolve();
    await settleClicks();
  });

  it('counts a failed work as done, so a failure neither blocks the backlog nor escapes', async () => {
    const failing = Promise.reject(new Error('write failed'));
    failing.catch(() => {});
    await inBackground(failing, 0);
    await expect(settleClicks()).resolves.toBeUndefined();
  });
});
