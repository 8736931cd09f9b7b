/**
 * Collects entries added within a few milliseconds and hands them to `send` in batches of at
 * most `max` (a full batch goes at once). If `send` throws, every entry of that batch fails.
 */
export class MicroBatcher<T extends { fail: (e: unknown) => void }> {
  private queue: T[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly max: number,
    private readonly delayMs: number,
    private readonly send: (batch: T[]) => Promise<void>,
  ) {}

  add(entry: T): void {
    this.queue.push(entry);
    if (this.queue.length >= this.max) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.max);
      void this.send(batch).catch((e) => {
        for (const entry of batch) entry.fail(e);
      });
    }
  }
}
