import type { Deps } from '#shared/deps';
import { onDueItem } from '#shared/store/due-soon';
import { type SweepTask, sweepOnce } from '#shared/sweeper';

/** Items due further off than this are left to the rounds: a wake-up is worth holding only for what is due soon. */
const WAKE_HORIZON_MS = 10 * 60_000;
/** Rounds a read waits for at most (each visits up to 100 due items per task and shard). */
const CATCH_UP_ROUNDS = 3;

/**
 * The local runtime's sweeper: a round every `intervalMs`, and a round the moment an item this
 * process put in the due index falls due, so a commission locked for 2 seconds unlocks at its
 * `unlockAt`, not up to a round later. Rounds never overlap; one asked for while another runs
 * follows it. `caughtUp()` waits until every item noted due by now has been visited: reads of
 * what the sweeper changes (the ledger) call it first. Items this process did not write, or due
 * beyond the horizon when written, are noted by the rounds, which read what falls due next; the
 * first round after a start is one to wait for, as items written before it may be due.
 */
export class LocalSweeper {
  /** Due times noted and not yet visited by a round, and the earliest of them. */
  private readonly due = new Set<number>();
  private earliest = Number.POSITIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private interval: NodeJS.Timeout | undefined;
  private stopListening: (() => void) | undefined;
  /** The last round started (or asked for), and the one waiting to follow it. */
  private last: Promise<void> = Promise.resolve();
  private next: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: Deps,
    private readonly tasks: SweepTask[],
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.interval = setInterval(() => void this.sweep(), this.intervalMs);
    this.stopListening = onDueItem((ms) => this.note(ms));
    // What an earlier run left may be due already: the first round is one a read waits for.
    this.note(this.deps.clock.now());
  }

  /** Stops the rounds and wake-ups (none starts after), and waits for the round under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.interval);
    clearTimeout(this.timer);
    this.stopListening?.();
    await this.last;
  }

  /** Waits (a few rounds at most) until no noted item due by now is left unvisited. */
  async caughtUp(): Promise<void> {
    for (let i = 0; i < CATCH_UP_ROUNDS && this.earliest <= this.deps.clock.now(); i++) await this.sweep();
  }

  /** A round after the one under way; callers asking while it waits share it. None once stopped. */
  private sweep(): Promise<void> {
    if (this.stopped) return this.last;
    if (this.next) return this.next;
    const round = this.last.then(async () => {
      this.next = undefined;
      if (this.stopped) return;
      const upTo = this.deps.clock.now();
      try {
        // Each round also notes what falls due next (written before this run, or due further off than
        // the horizon when written), so its round comes at its due time too.
        await sweepOnce(this.deps, this.tasks, { lookAheadMs: WAKE_HORIZON_MS, onUpcoming: (ms) => this.note(ms) });
      } catch (e) {
        this.deps.log.error('sweep failed', { error: e as Error });
      }
      this.visited(upTo);
    });
    this.next = round;
    this.last = round;
    return round;
  }

  private note(dueAtMs: number): void {
    if (!(dueAtMs - this.deps.clock.now() <= WAKE_HORIZON_MS)) return;
    this.due.add(dueAtMs);
    if (dueAtMs < this.earliest) this.earliest = dueAtMs;
    this.wake();
  }

  /** A round has visited everything due by `upTo`. */
  private visited(upTo: number): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const t of this.due) {
      if (t <= upTo) this.due.delete(t);
      else if (t < earliest) earliest = t;
    }
    this.earliest = earliest;
    this.wake();
  }

  /** Sets the timer for the earliest due time, unless it is set for that or sooner. */
  private wake(): void {
    if (this.stopped || this.earliest === Number.POSITIVE_INFINITY || this.timerAt <= this.earliest || !this.interval)
      return;
    clearTimeout(this.timer);
    this.timerAt = this.earliest;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        void this.sweep();
      },
      Math.max(0, this.earliest - this.deps.clock.now()),
    );
  }
}
