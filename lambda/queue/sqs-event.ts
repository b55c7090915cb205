/**
 * The SQS event a Lambda event source mapping passes to the fan-out worker, and the partial batch
 * response it returns (`ReportBatchItemFailures`): only the listed messages become visible again.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
 */

/** One SQS message of the event (the fields the worker reads). */
export interface QueueRecord {
  readonly messageId: string;
  readonly body: string;
  readonly attributes?: {
    /** How many times the message was received, this time included (a string). */
    readonly ApproximateReceiveCount?: string;
  };
}

/** The event of an SQS event source mapping. */
export interface QueueEvent {
  readonly Records: readonly QueueRecord[];
}

/** The partial batch response. */
export interface QueueBatchResponse {
  readonly batchItemFailures: ReadonlyArray<{ readonly itemIdentifier: string }>;
}

/** A Lambda handler of SQS events with partial batch responses. */
export type QueueHandler = (event: QueueEvent, context?: unknown) => Promise<QueueBatchResponse>;
