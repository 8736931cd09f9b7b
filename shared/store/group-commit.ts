/** A transaction waiting to be committed, with the keys of the items it writes or checks. */
export interface Queued<T> {
  tx: T;
  size: number;
  keys: readonly string[];
  done: () => void;
  fail: (e: unknown) => void;
}

/**
 * Group commit: transactions asked for while `maxInFlight` commits are out wait, then leave
 * together as one group as soon as a commit comes back. A lone transaction leaves at once, so
 * nothing waits while the database keeps up; under load, one request commits many transactions
 * (DynamoDB Local writes a 60-item transaction in about the time of a 2-item one). A group never
 * holds two transactions that share an item, nor more than `maxSize` items: a transaction that
 * would waits for the next group, ahead of those queued after it.
 */
export class GroupCommit<T> {
  private queue: Queued<T>[] = [];
  private inFlight = 0;

  constructor(
    private readonly commit: (group: Queued<T>[]) => Promise<void>,
    private readonly maxSize: number,
    private readonly maxInFlight = 4,
  ) {}

  add(tx: T, size: number, keys: readonly string[]): Promise<void> {
    return new Promise<void>((done, fail) => {
      this.queue.push({ tx, size, keys, done, fail });
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const group = this.take();
      this.inFlight++;
      // `commit` settles every member; should it throw, those it left fail with its error.
      void this.commit(group)
        .catch((e) => {
          for (const q of group) q.fail(e);
        })
        .finally(() => {
          this.inFlight--;
          this.flush();
        });
    }
  }

  /** The next group: queued transactions in their order, skipping any that shares an item with one taken or does not fit. */
  private take(): Queued<T>[] {
    const group: Queued<T>[] = [];
    const keys = new Set<string>();
    let size = 0;
    const rest: Queued<T>[] = [];
    for (const q of this.queue) {
      const fits = group.length === 0 || (size + q.size <= this.maxSize && q.keys.every((k) => !keys.has(k)));
      if (!fits) {
        rest.push(q);
        continue;
      }
      group.push(q);
      size += q.size;
      for (const k of q.keys) keys.add(k);
    }
    this.queue = rest;
    return group;
  }
}
