/** The one source of time. Tests pass a `ManualClock` to move it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  constructor(private ms: number = Date.parse('2026-11-24T10:00:00.000Z')) {}
  now(): number {
    return this.ms;
  }
  set(iso: string | number): void {
    this.ms = typeof iso === 'number' ? iso : Date.parse(iso);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** ISO-8601 UTC string of a millisecond time. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** The UTC day (`YYYY-MM-DD`) of a millisecond time. */
export const utcDay = (ms: number): string => iso(ms).slice(0, 10);

/** Unix seconds, as used by DynamoDB TTL. */
export const epochSeconds = (ms: number): number => Math.floor(ms / 1000);
