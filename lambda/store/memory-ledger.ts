import type { CutBatch, DeliveryLedger } from './ledger';

interface Entry {
  leaseUntil: number;
  done: boolean;
  readonly delivered: Set<number>;
}

interface Split {
  leaseUntil: number;
  done: boolean;
  readonly cut: Map<number, CutBatch>;
}

/** A {@link DeliveryLedger} in process memory (tests, the local `dev` server). */
export function memoryLedger(): DeliveryLedger {
  const entries = new Map<string, Entry>();
  const splits = new Map<string, Split>();
  const splitOf = (publishId: string) => {
    let split = splits.get(publishId);
    if (!split) {
      split = { leaseUntil: 0, done: false, cut: new Map() };
      splits.set(publishId, split);
    }
    return split;
  };
  return {
    async claim(batchId, leaseMs) {
      const now = Date.now();
      const entry = entries.get(batchId);
      if (entry && entry.leaseUntil > now) return { busy: true, done: entry.done, delivered: new Set(entry.delivered) };
      const claimed = entry ?? { leaseUntil: 0, done: false, delivered: new Set<number>() };
      claimed.leaseUntil = now + leaseMs;
      entries.set(batchId, claimed);
      return { busy: false, done: claimed.done, delivered: new Set(claimed.delivered) };
    },
    async record(batchId, delivered, done) {
      const entry = entries.get(batchId) ?? { leaseUntil: 0, done: false, delivered: new Set<number>() };
      for (const index of delivered) entry.delivered.add(index);
      entry.done ||= done;
      entry.leaseUntil = 0;
      entries.set(batchId, entry);
    },
    async claimSplit(publishId, leaseMs) {
      const now = Date.now();
      const resumed = splits.has(publishId);
      const split = splitOf(publishId);
      if (split.done) return { busy: false, done: true, resumed };
      if (split.leaseUntil > now) return { busy: true, done: false, resumed };
      split.leaseUntil = now + leaseMs;
      return { busy: false, done: false, resumed };
    },
    async saveCut(publishId, batches) {
      const { cut } = splitOf(publishId);
      for (const batch of batches) cut.set(batch.index, { index: batch.index, targets: [...batch.targets] });
    },
    async readCut(publishId) {
      return [...(splits.get(publishId)?.cut.values() ?? [])].sort((a, b) => a.index - b.index);
    },
    async finishSplit(publishId, done) {
      const split = splitOf(publishId);
      split.done ||= done;
      split.leaseUntil = 0;
    },
  };
}
