/**
 * Pages of several async sources, read in parallel, yielded as each arrives (the shards of an
 * index partition a publish spans). A rejection of any source rejects the merge.
 */
export async function* mergePages<T>(sources: ReadonlyArray<AsyncIterable<readonly T[]>>): AsyncGenerator<readonly T[]> {
  if (sources.length === 1) {
    yield* sources[0];
    return;
  }
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  type Next = { index: number; result: IteratorResult<readonly T[]> };
  const pending = new Map<number, Promise<Next>>();
  const pull = (index: number) => pending.set(index, iterators[index].next().then((result) => ({ index, result })));
  iterators.forEach((_, index) => pull(index));
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(index);
        continue;
      }
      pull(index);
      yield result.value;
    }
  } finally {
    // Stop the sources still open when the consumer stops early.
    await Promise.allSettled([...pending.keys()].map((index) => iterators[index].return?.()));
  }
}
