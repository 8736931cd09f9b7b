import type { SweepTask } from '#shared/sweeper';

/** Every sweep task, run by the scheduled sweeper Lambda and by the local runtime's interval. */
export const sweepTasks: SweepTask[] = [];
