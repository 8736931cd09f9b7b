/** `fn` over `list`, at most `limit` at a time; the results in `list`'s order. */
export async function mapLimit<T, R>(list: readonly T[], fn: (x: T) => Promise<R>, limit = 8): Promise<R[]> {
  const out: R[] = new Array(list.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, list.length) }, async () => {
      while (next < list.length) {
        const i = next++;
        out[i] = await fn(list[i]!);
      }
    }),
  );
  return out;
}
