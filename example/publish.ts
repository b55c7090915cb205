/**
 * A producer Lambda publishing to subscribers (granted with `api.grantPublish(fn)`, which sets
 * TRPC_SUBSCRIPTIONS_TABLE_NAME and TRPC_SUBSCRIPTIONS_ENDPOINT).
 */
import { publisher } from './app-router';

/** Event of this producer. */
export interface TypingEvent {
  readonly userId: string;
}

/** Tells the user's own subscriptions that they are typing, e.g. from another device. */
export async function main(event: TypingEvent) {
  return publisher.routes.chat.onTyping.publish({
    data: event.userId,
    filter: { name: 'byUser', ctx: { userId: event.userId } },
  });
}
