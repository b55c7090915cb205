/**
 * The fan-out worker's ledger: which targets of a delivery batch were delivered, so that a batch
 * SQS hands out again (a retry after a failure or a crash, or a duplicate delivery of a standard
 * queue) sends only what was not delivered yet, and a delivered batch is never sent again.
 */

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
}
