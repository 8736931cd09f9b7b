import { Coalescer } from './coalescer.ts';
import { perStore } from './per-store.ts';
import type { Key, Store } from './store.ts';

interface Add {
  key: Key;
  entity: string;
  set: Record<string, string>;
  deltas: Record<string, number>;
}

/**
 * Coalesces atomic ADDs to the same item into one UpdateItem per round trip (see Coalescer): a
 * busy instance (the local server, a warm Lambda under a burst) writes each hot counter shard
 * once per round trip instead of once per click; every caller's promise settles when the write
 * that carries its delta does, so nothing is acknowledged before it is stored.
 */
export class AddBuffer {
  private readonly coalescer: Coalescer<Add, undefined>;

  constructor(private readonly store: Store) {
    this.coalescer = new Coalescer<Add, undefined>(
      (_key, adds) => this.write(adds),
      Math.max(2, store.options.counterRollUpMs ?? 0),
    );
  }

  /** Adds `deltas` to the item at `key` (created with `entity` and the `set` attributes when missing). */
  async add(key: Key, entity: string, deltas: Record<string, number>, set: Record<string, string> = {}): Promise<void> {
    await this.coalescer.submit(`${key.pk}\u0000${key.sk}`, { key, entity, set, deltas });
  }

  private async write(adds: Add[]): Promise<undefined[]> {
    const first = adds[0]!;
    const totals: Record<string, number> = {};
    for (const a of adds) for (const [f, v] of Object.entries(a.deltas)) totals[f] = (totals[f] ?? 0) + v;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':e': first.entity };
    const sets = ['entity = :e'];
    const parts: string[] = [];
    Object.entries(first.set).forEach(([f, v], i) => {
      names[`#s${i}`] = f;
      values[`:s${i}`] = v;
      sets.push(`#s${i} = :s${i}`);
    });
    Object.entries(totals).forEach(([f, v], i) => {
      if (v === 0) return;
      names[`#a${i}`] = f;
      values[`:a${i}`] = v;
      parts.push(`#a${i} :a${i}`);
    });
    await this.store.update({
      key: first.key,
      update: `SET ${sets.join(', ')}${parts.length ? ` ADD ${parts.join(', ')}` : ''}`,
      ...(Object.keys(names).length ? { names } : {}),
      values,
    });
    return adds.map(() => undefined);
  }
}

/** The add buffer of a store. */
export const addBufferOf = perStore((store) => new AddBuffer(store));
