import type { DeliveryLedger } from './ledger';

interface Entry {
  leaseUntil: number;
  done: boolean;
  readonly delivered: Set<number>;
}

/** A {@link DeliveryLedger} in process memory (tests, the local `dev` server). */
export function memoryLedger(): DeliveryLedger {
  const entries = new Map<string, Entry>();
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
  };
}
