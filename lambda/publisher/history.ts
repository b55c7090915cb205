import type { SubscriptionsConfig } from '../core/config';
import type { HistorySettings } from '../core/history';
import { buildDataFrames, dataResultJson, framesFromResult, type FrameBuilder } from '../protocol/encode';
import type { FilterEntry, SubscriptionStore } from '../store/store';

/** An event appended to its route's history, ready to deliver. */
export interface AppendedEvent {
  readonly eventId: string;
  readonly frameFor: FrameBuilder;
  /** The `result` member of the event's data frames (JSON text, with the event id), as the history holds it. */
  readonly result: string;
}

/**
 * Appends a publish to its route's history, which gives the event its id, and encodes the frames
 * with that id. The history assigns ids, so `publish({ id })` is refused on such a route. The
 * append comes before any delivery: a subscription that misses the live frame finds the event when
 * it resumes.
 */
export async function appendToHistory(
  store: SubscriptionStore, config: SubscriptionsConfig, path: string, args: { readonly data: unknown; readonly id?: string },
  filter: FilterEntry | undefined, history: HistorySettings,
): Promise<AppendedEvent> {
  if (args.id !== undefined) {
    throw new Error(`Publish to "${path}": the route keeps a history, which assigns event ids; remove \`id\``);
  }
  if (!store.appendEvent) {
    throw new Error(`Publish to "${path}": the route keeps a history, but the store has no appendEvent() (use dynamodb() or memory())`);
  }
  // Refuses a payload over the quota before anything is written.
  buildDataFrames(config, path, args.data, '0'.repeat(16));
  let encoded: { readonly frameFor: FrameBuilder; readonly result: string } | undefined;
  const eventId = await store.appendEvent({
    path,
    filter,
    expireAt: Math.floor(Date.now() / 1000) + history.retentionSeconds,
    encode: (id) => {
      const result = dataResultJson(config, args.data, id);
      encoded = { frameFor: framesFromResult(path, result), result };
      return result;
    },
  });
  return { eventId, ...encoded! };
}
