/**
 * The delivery batches a split has cut, on their way out in groups (a SendMessageBatch holds 10):
 * each group is saved in the ledger, then queued. A few groups are on their way at once, so the
 * split keeps reading and cutting while DynamoDB and SQS answer, instead of waiting for two round
 * trips per ten batches.
 */
import type { CutBatch } from '../store/ledger';

/** Batches waiting to be saved and queued. */
export interface Outbox {
  /** Adds a batch; sends its group once full, first waiting while `maxInFlight` groups are on their way. */
  add(batch: CutBatch): Promise<void>;
  /** Sends the last, partial group and waits for every group; rejects with the first failure. */
  flush(): Promise<void>;
  /** Waits until no group is on its way (failures included), without throwing: for a split that failed. */
  settled(): Promise<void>;
}

/**
 * An outbox sending each group with `send` (which saves it before queueing it).
 * @param groupSize batches per group
 * @param maxInFlight groups on their way at once
 */
export function createOutbox(send: (group: CutBatch[]) => Promise<void>, groupSize: number, maxInFlight: number): Outbox {
  let group: CutBatch[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { readonly error: unknown } | undefined;
  const start = () => {
    if (group.length === 0) return;
    const batches = group;
    group = [];
    const task: Promise<void> = send(batches)
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  };
  const throwIfFailed = () => {
    if (failure) throw failure.error;
  };
  return {
    async add(batch) {
      throwIfFailed();
      group.push(batch);
      if (group.length < groupSize) return;
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      throwIfFailed();
      start();
    },
    async flush() {
      throwIfFailed();
      start();
      await Promise.all(inFlight);
      throwIfFailed();
    },
    async settled() {
      await Promise.all(inFlight);
    },
  };
}
