import { describe, expect, it } from 'vitest';
import { MicroBatcher } from '#shared/store/micro-batch';

type Entry = { n: number; fail: (e: unknown) => void };
const entry = (n: number, failed: unknown[] = []): Entry => ({ n, fail: (e) => failed.push(e) });

describe('Class: MicroBatcher', () => {
  it('holds entries while the in-flight limit is reached and sends them together when a batch returns', async () => {
    // Prepare
    const sent: number[][] = [];
    const releases: (() => void)[] = [];
    const batcher = new MicroBatcher<Entry>(
      25,
      1,
      (batch) =>
        new Promise<void>((r) => {
          sent.push(batch.map((e) => e.n));
          releases.push(r);
        }),
      1,
    );

    // Act
    batcher.add(entry(0));
    await new Promise((r) => setTimeout(r, 10));
    for (let n = 1; n <= 30; n++) batcher.add(entry(n));
    await new Promise((r) => setTimeout(r, 10));
    const whileOut = sent.length;
    releases[0]!();
    await new Promise((r) => setTimeout(r, 10));

    // Assess
    expect(whileOut).toBe(1);
    expect(sent[0]).toEqual([0]);
    expect(sent[1]).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(sent).toHaveLength(2);
    releases[1]!();
    await new Promise((r) => setTimeout(r, 10));
    expect(sent[2]).toEqual([26, 27, 28, 29, 30]);
  });

  it('fails every entry of a batch whose send throws, and keeps sending later batches', async () => {
    const failed: unknown[] = [];
    let calls = 0;
    const batcher = new MicroBatcher<Entry>(10, 1, async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
    });
    batcher.add(entry(1, failed));
    batcher.add(entry(2, failed));
    await new Promise((r) => setTimeout(r, 10));
    batcher.add(entry(3, failed));
    await new Promise((r) => setTimeout(r, 10));
    expect(failed).toHaveLength(2);
    expect(calls).toBe(2);
  });
});
