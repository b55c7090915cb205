/**
 * The example's producer Lambda: a backend process that publishes to subscribers.
 *
 * It handles an EventBridge event whose `detail` is a room announcement (e.g. "the build
 * finished") and publishes it to every subscriber of that room. `TrpcSubscriptionApi.grantPublish`
 * gives the function `TRPC_SUBSCRIPTIONS_TABLE_NAME`, `TRPC_SUBSCRIPTIONS_ENDPOINT` and the IAM
 * permissions publishing needs; `appSubscriptions.publisher()` reads both variables, so the
 * producer needs no configuration of its own.
 */
import type { EventBridgeEvent } from 'aws-lambda';
// The namespace import lets esbuild tree-shake zod (~85 KB instead of ~445 KB: docs/performance.md).
import * as z from 'zod';
import { appSubscriptions } from './app-router';
import type { PublishResult } from '../lambda';

/** The `detail-type` this producer handles. */
export const ROOM_ANNOUNCEMENT = 'RoomAnnouncement';

const announcementSchema = z.object({
  room: z.string().min(1),
  text: z.string().min(1),
  from: z.string().min(1).default('system'),
});

/** The `detail` of a room announcement event. */
export type RoomAnnouncement = z.input<typeof announcementSchema>;

/** The event this producer handles (an EventBridge rule targets the function). */
export type RoomAnnouncementEvent = EventBridgeEvent<typeof ROOM_ANNOUNCEMENT, RoomAnnouncement>;

/** The publisher this producer needs (a subset of `appSubscriptions.publisher()`). */
export type RoomPublisher = Pick<ReturnType<typeof appSubscriptions.publisher>['routes']['onMessage'], 'publish'>;

/**
 * Builds the producer's handler around a publisher (tests and the demo pass one with their own
 * store and endpoint).
 */
export function createProducer(publisher: RoomPublisher = appSubscriptions.publisher().routes.onMessage) {
  return async (event: RoomAnnouncementEvent): Promise<PublishResult> => {
    if (event['detail-type'] !== ROOM_ANNOUNCEMENT) {
      throw new Error(`Producer: expected detail-type "${ROOM_ANNOUNCEMENT}", got: ${JSON.stringify(event['detail-type'])}`);
    }
    const parsed = announcementSchema.safeParse(event.detail);
    if (!parsed.success) {
      throw new Error(`Producer: invalid ${ROOM_ANNOUNCEMENT} detail: ${z.prettifyError(parsed.error)}`);
    }
    const { room, text, from } = parsed.data;
    const at = new Date(event.time);
    // Not thrown on `failed > 0`: a retry of the whole event would deliver again to everyone who
    // already got it. The publisher has already retried throttling and logged each failure.
    return publisher.publish({
      data: { text, from, at: Number.isNaN(at.getTime()) ? new Date() : at },
      filter: { name: 'byRoom', input: { room } },
    });
  };
}

/** Lambda entry point (`handler`), publishing with the environment `grantPublish` set. */
export const handler = createProducer();
