/**
 * Runs `worker` over every item of every page with at most `concurrency` in flight, reading the
 * next page only when a slot frees up. The first rejection stops scheduling; the items in flight
 * settle, then it is rethrown.
 */
export async function forEachBounded<T>(
  pages: AsyncIterable<readonly T[]> | Iterable<readonly T[]>, concurrency: number, worker: (item: T) => Promise<void>,
): Promise<void> {
  const limit = Math.max(1, Math.floor(concurrency));
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const run = (item: T): void => {
    const task: Promise<void> = worker(item)
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  };
  outer: for await (const page of pages) {
    for (const item of page) {
      if (failure) break outer;
      run(item);
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
}
