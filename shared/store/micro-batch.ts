/**
 * Collects entries added within a few milliseconds and hands them to `send` in batches of at
 * most `max` (a full batch goes at once; `delayMs` 0 sends at once whenever a batch may go). At
 * most `maxInFlight` batches are sent at a time: while they are out, entries wait and then leave
 * together as soon as one comes back, so batches grow when the database is slow instead of piling
 * up as many small requests. `take` forms the next batch from the waiting entries (by default the
 * first `max`); the entries it leaves wait for a later batch, in their order. If `send` throws,
 * every entry of that batch fails.
 */
export class MicroBatcher<T extends { fail: (e: unknown) => void }> {
  private queue: T[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight = 0;

  constructor(
    private readonly max: number,
    private readonly delayMs: number,
    private readonly send: (batch: T[]) => Promise<void>,
    private readonly maxInFlight = 4,
    private readonly take: (waiting: T[]) => { batch: T[]; rest: T[] } = (waiting) => ({
      batch: waiting.slice(0, max),
      rest: waiting.slice(max),
    }),
  ) {}

  add(entry: T): void {
    this.queue.push(entry);
    if (this.inFlight >= this.maxInFlight) return; // leaves when a batch comes back
    if (this.delayMs <= 0 || this.queue.length >= this.max) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** Sends what is waiting now instead of at the end of its delay (within `maxInFlight`). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const { batch, rest } = this.take(this.queue);
      this.queue = rest;
      this.inFlight++;
      void this.send(batch)
        .catch((e) => {
          for (const entry of batch) entry.fail(e);
        })
        .finally(() => {
          this.inFlight--;
          if (this.queue.length > 0) this.flush();
        });
    }
  }
}
