import type { AnyTRPCRouter } from '@trpc/server';
import { MAX_MESSAGE_BYTES } from '../constants';
import type { RequestId } from '../store/store';

/** Thrown by `publish` when the message would exceed API Gateway's 128 KB message quota. */
export class PayloadTooLargeError extends Error {
  constructor(readonly path: string, readonly bytes: number, readonly maxBytes: number) {
    super(`Publish to "${path}": the message is ${bytes} bytes, API Gateway accepts at most ${maxBytes} bytes per WebSocket message`);
    this.name = 'PayloadTooLargeError';
  }
}

/** Builds the data frame for a subscription id from data serialized once. */
export type FrameBuilder = (subscriptionId: RequestId) => string;

/**
 * Serializes `data` once with the router's transformer and returns a builder of the per-subscriber
 * frame `{"id":<sub>,"result":{"type":"data","data":...}}` (tracked: with the event id, and data
 * `{ id, data }` as tRPC's ws adapter sends it). Throws {@link PayloadTooLargeError} before
 * anything is sent when the frame would exceed the quota.
 */
export function buildDataFrames(
  router: AnyTRPCRouter, path: string, data: unknown, eventId: string | undefined, maxBytes = MAX_MESSAGE_BYTES,
): FrameBuilder {
  const transformer = router._def._config.transformer;
  const payload = eventId === undefined ? data : { id: eventId, data };
  const serialized: unknown = transformer.output.serialize(payload);
  const dataJson = serialized === undefined ? '' : `,"data":${JSON.stringify(serialized)}`;
  const result = eventId === undefined
    ? `{"type":"data"${dataJson}}`
    : `{"type":"data","id":${JSON.stringify(eventId)}${dataJson}}`;
  const build: FrameBuilder = (subscriptionId) => `{"id":${JSON.stringify(subscriptionId)},"result":${result}}`;
  // Client ids are short (a counter); the exact size is checked again per frame before sending.
  const bytes = Buffer.byteLength(build(0));
  if (bytes > maxBytes) throw new PayloadTooLargeError(path, bytes, maxBytes);
  return build;
}
