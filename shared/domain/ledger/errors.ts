/** The cause was settled already (a redelivered or replayed event): the consumer treats it as success. */
export class AlreadySettledError extends Error {
  constructor(readonly entryId?: string) {
    super(`already settled${entryId ? `: ${entryId}` : ''}`);
  }
}

/** Something the transaction depended on changed between the read and the write: read again and retry. */
export class StaleReadError extends Error {
  /** Expected under contention: whoever catches it retries (the sweeper, next sweep), so it is no error to log. */
  readonly transient = true;
  constructor(what: string) {
    super(`changed while settling: ${what}`);
  }
}
