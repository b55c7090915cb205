/**
 * Runs `worker` over every item of every page in lanes (one per `laneOf(item)`), each lane with at
 * most `concurrency` in flight, so a slow lane (another Region's API timing out) never holds the
 * slots of the others. Pages are read ahead while fewer than `maxQueued` items wait across lanes.
 * The first rejection stops scheduling; the items in flight settle, then it is rethrown.
 */
export async function forEachInLanes<T>(
  pages: AsyncIterable<readonly T[]> | Iterable<readonly T[]>,
  laneOf: (item: T) => string,
  concurrency: number,
  worker: (item: T) => Promise<void>,
  maxQueued = 10_000,
): Promise<void> {
  const limit = Math.max(1, Math.floor(concurrency));
  const lanes = new Map<string, { queue: T[]; running: number }>();
  let queued = 0;
  let running = 0;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const pump = (lane: { queue: T[]; running: number }): void => {
    while (!failure && lane.running < limit && lane.queue.length > 0) {
      const item = lane.queue.shift() as T;
      queued--;
      lane.running++;
      running++;
      worker(item)
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => {
          lane.running--;
          running--;
          pump(lane);
          notify();
        });
    }
  };
  const waitFor = async (done: () => boolean): Promise<void> => {
    while (!done()) await new Promise<void>((resolve) => (wake = resolve));
  };
  for await (const page of pages) {
    if (failure) break;
    for (const item of page) {
      const name = laneOf(item);
      let lane = lanes.get(name);
      if (!lane) lanes.set(name, (lane = { queue: [], running: 0 }));
      lane.queue.push(item);
      queued++;
      pump(lane);
    }
    await waitFor(() => failure !== undefined || queued < maxQueued);
  }
  // After a failure the queued items are dropped; only those in flight settle.
  await waitFor(() => running === 0 && (failure !== undefined || queued === 0));
  if (failure) throw failure.error;
}
