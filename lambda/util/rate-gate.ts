/**
 * Paces calls to a shared quota: at most `maxPerSecond` (evenly spaced, with a short burst), and
 * additive-increase / multiplicative-decrease on throttling, so that workers sharing API Gateway's
 * account-wide `@connections` quota slow down when it answers 429 instead of failing.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link createRateGate}. */
export interface RateGateOptions {
  /**
   * Most calls per second.
   * @default Infinity (paced only after throttling)
   */
  readonly maxPerSecond?: number;
  /**
   * Lowest rate throttling can push the gate down to, per second.
   * @default 10
   */
  readonly minPerSecond?: number;
}

/** A pacing gate. */
export interface RateGate {
  /** The current rate, per second (Infinity when unpaced). */
  readonly rate: number;
  /** Resolves when the next call may start. */
  acquire(): Promise<void>;
  /** A call was throttled: halve the rate (at most once per 100 ms). */
  throttled(): void;
  /** A call succeeded (counts towards the observed rate). */
  succeeded(): void;
}

/** How often the rate may halve, and how often it recovers by 10% without throttling. */
const ADJUST_INTERVAL_MS = 100;
/**
 * How much of its pace a gate may catch up after an idle spell (a fan-out worker is idle between
 * delivery batches: the ledger's claim and record, the next receive). At the construct's defaults
 * (20 instances at 250 posts/s) that is at most 1,250 posts at once over every instance, within
 * API Gateway's account burst of 5,000.
 */
const BURST_MS = 250;

/** Creates a {@link RateGate}. */
export function createRateGate(options: RateGateOptions = {}): RateGate {
  const max = options.maxPerSecond ?? Infinity;
  const min = Math.min(options.minPerSecond ?? 10, max);
  if (!(max > 0)) throw new RangeError(`\`maxPerSecond\` must be a positive number, got: ${max}`);
  let current = max;
  let nextSlot = 0;
  let lastAdjust = 0;
  let windowStart = Date.now();
  let windowCount = 0;
  let observed = 0;

  const recover = (now: number) => {
    if (current >= max || now - lastAdjust < ADJUST_INTERVAL_MS) return;
    const steps = Math.floor((now - lastAdjust) / ADJUST_INTERVAL_MS);
    current = Math.min(max, current * 1.1 ** steps);
    lastAdjust = now;
  };

  return {
    get rate() {
      return current;
    },
    async acquire() {
      const now = Date.now();
      recover(now);
      if (!Number.isFinite(current)) return;
      const slot = Math.max(now - BURST_MS, nextSlot);
      nextSlot = slot + 1000 / current;
      if (slot > now) await sleep(slot - now);
    },
    throttled() {
      const now = Date.now();
      if (now - lastAdjust < ADJUST_INTERVAL_MS && Number.isFinite(current)) return;
      const base = Number.isFinite(current) ? current : Math.max(observed, windowCount * 1000 / Math.max(1, now - windowStart), min * 2);
      current = Math.max(min, base / 2);
      lastAdjust = now;
    },
    succeeded() {
      const now = Date.now();
      windowCount++;
      if (now - windowStart >= 1000) {
        observed = windowCount * 1000 / (now - windowStart);
        windowStart = now;
        windowCount = 0;
      }
    },
  };
}
