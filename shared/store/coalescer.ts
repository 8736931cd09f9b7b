type Waiter<Out> = { ok: (o: Out) => void; fail: (e: unknown) => void };

/**
 * Groups calls with the same key and runs them as one: each write of a key gathers the calls of
 * `delayMs`, and while it is in flight later calls wait and then go together in the next (so a
 * hot key is written at most once per round trip plus `delayMs`, however many calls arrive).
 * `run` gets the grouped inputs and answers each, in order; every caller's promise settles with
 * the write that carried its input.
 */
export class Coalescer<In, Out> {
  private readonly keys = new Map<string, { queue: In[]; waiters: Waiter<Out>[]; busy: boolean }>();

  constructor(
    private readonly run: (key: string, inputs: In[]) => Promise<Out[]>,
    private readonly delayMs = 2,
  ) {}

  submit(key: string, input: In): Promise<Out> {
    let k = this.keys.get(key);
    if (!k) {
      k = { queue: [], waiters: [], busy: false };
      this.keys.set(key, k);
    }
    const state = k;
    state.queue.push(input);
    const done = new Promise<Out>((ok, fail) => state.waiters.push({ ok, fail }));
    if (!state.busy) {
      state.busy = true;
      setTimeout(() => void this.drain(key), this.delayMs);
    }
    return done;
  }

  private async drain(key: string): Promise<void> {
    const state = this.keys.get(key)!;
    while (state.queue.length > 0) {
      const inputs = state.queue.splice(0);
      const waiters = state.waiters.splice(0);
      try {
        const outs = await this.run(key, inputs);
        waiters.forEach((w, i) => {
          w.ok(outs[i]!);
        });
      } catch (e) {
        for (const w of waiters) w.fail(e);
      }
      if (state.queue.length > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    }
    this.keys.delete(key);
  }
}
