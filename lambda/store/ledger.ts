/**
 * The fan-out worker's ledger: which targets of a delivery batch were delivered, so that a batch
 * SQS hands out again (a retry after a failure or a crash, or a duplicate delivery of a standard
 * queue) sends only what was not delivered yet, and a delivered batch is never sent again; and
 * how each publish was cut into batches, so that a split SQS hands out again reuses the batches
 * an earlier attempt cut (their ledger entries name positions in them) instead of cutting the
 * audience anew.
 */
import type { DeliveryTarget } from '../queue/messages';

/** What a claim found. */
export interface DeliveryClaim {
  /**
   * Another worker holds an unexpired lease on this batch (it is being delivered right now):
   * nothing was changed; try again later.
   */
  readonly busy: boolean;
  /** Every target was delivered (or is gone) before: nothing to send. */
  readonly done: boolean;
  /** Indexes (in the batch's target list) delivered before. */
  readonly delivered: ReadonlySet<number>;
}

/** A delivery batch as a split cut it. */
export interface CutBatch {
  /** Place of the batch in its publish: its id is `{publishId}#{index}`. */
  readonly index: number;
  /** Its exact targets, in the order its ledger entry's indexes refer to. */
  readonly targets: readonly DeliveryTarget[];
}

/** What a claim of a publish's split found. */
export interface SplitClaim {
  /** Another worker is splitting this publish right now (an unexpired lease): nothing was changed. */
  readonly busy: boolean;
  /** An earlier attempt finished the split (every batch delivered or queued): nothing to do. */
  readonly done: boolean;
  /** An earlier attempt began it: batches it cut may be saved (read them with `readCut`). */
  readonly resumed: boolean;
}

/** Persistence of delivery progress. */
export interface DeliveryLedger {
  /**
   * Takes a lease on a batch for `leaseMs` (unless another live lease exists) and returns its
   * progress, in one request.
   */
  claim(batchId: string, leaseMs: number): Promise<DeliveryClaim>;
  /**
   * Adds delivered target indexes, marks the batch done when `done`, and releases the lease.
   * The row expires `retentionSeconds` later (at least as long as the queue keeps messages).
   */
  record(batchId: string, delivered: readonly number[], done: boolean, retentionSeconds: number): Promise<void>;
  /**
   * Takes a lease on the split of a publish for `leaseMs`, unless another live lease exists or
   * the split is done, in one request.
   */
  claimSplit(publishId: string, leaseMs: number): Promise<SplitClaim>;
  /**
   * Saves cut batches of a publish, before any of them is delivered or queued, so that a retried
   * split delivers them as cut. They expire `retentionSeconds` later.
   */
  saveCut(publishId: string, batches: readonly CutBatch[], retentionSeconds: number): Promise<void>;
  /** Every batch saved for a publish (strongly consistent), in index order. */
  readCut(publishId: string): Promise<CutBatch[]>;
  /**
   * Marks the split of a publish done when `done`, and releases its lease. The row expires
   * `retentionSeconds` later.
   */
  finishSplit(publishId: string, done: boolean, retentionSeconds: number): Promise<void>;
}
