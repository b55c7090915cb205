/**
 * The console's view of the local fan-out queue, from the queue's events: counts, and the latest
 * messages with what they are (`enqueue()`'s `publish`, the worker's `deliver` batches, EventBridge
 * events) and where they are (waiting, held by a worker invocation, retrying, done, dead-lettered).
 */
import { isEventBridgeEvent } from '../../queue/messages';
import { isRecord } from '../../util/guards';
import type { LocalQueueEvent } from '../queue';
import type { QueueMessageView, QueueView } from './view';

/** Messages listed (the oldest go first). */
const MESSAGES_KEPT = 50;

/** The queue's events in, its view out. */
export interface QueueTracker {
  onEvent(event: LocalQueueEvent): void;
  view(): QueueView;
}

type MessageState = { -readonly [K in keyof QueueMessageView]: QueueMessageView[K] };

/** Creates a tracker of one local queue. */
export function createQueueTracker(): QueueTracker {
  const messages = new Map<string, MessageState>();
  const counts = { sent: 0, deleted: 0, deadLettered: 0, invocations: 0 };
  const live = new Map<string, MessageState['state']>();

  const track = (messageId: string, state: MessageState['state']) => {
    const message = messages.get(messageId);
    if (message) message.state = state;
    if (state === 'done' || state === 'dead-lettered') live.delete(messageId);
    else live.set(messageId, state);
  };

  return {
    onEvent(event) {
      switch (event.type) {
        case 'sent':
          counts.sent++;
          messages.set(event.messageId, { messageId: event.messageId, at: event.at, state: 'waiting', receives: 0, ...describeBody(event.body) });
          for (const id of messages.keys()) {
            if (messages.size <= MESSAGES_KEPT) break;
            messages.delete(id);
          }
          live.set(event.messageId, 'waiting');
          return;
        case 'received':
          counts.invocations++;
          for (const id of event.messageIds) {
            const message = messages.get(id);
            if (message) message.receives++;
            track(id, 'in-flight');
          }
          return;
        case 'deleted':
          counts.deleted++;
          track(event.messageId, 'done');
          return;
        case 'failed':
          track(event.messageId, 'retrying');
          return;
        case 'dead-lettered':
          counts.deadLettered++;
          track(event.messageId, 'dead-lettered');
          return;
      }
    },
    view: () => {
      const states = [...live.values()];
      return {
        ...counts,
        waiting: states.filter((state) => state === 'waiting').length,
        // A failed message is invisible until its visibility timeout ends: still the worker's.
        inFlight: states.filter((state) => state !== 'waiting').length,
        messages: [...messages.values()].map((message) => ({ ...message })).reverse(),
      };
    },
  };
}

/** What a message body is: `publish`, `deliver` (with its target count), an EventBridge event, or unknown. */
function describeBody(body: string): Pick<QueueMessageView, 'kind' | 'path' | 'targets'> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { kind: 'unknown' };
  }
  if (isEventBridgeEvent(value)) return { kind: 'event', path: value['detail-type'] };
  if (!isRecord(value) || (value.kind !== 'publish' && value.kind !== 'deliver')) return { kind: 'unknown' };
  return {
    kind: value.kind,
    ...(typeof value.path === 'string' ? { path: value.path } : {}),
    ...(Array.isArray(value.targets) ? { targets: value.targets.length } : {}),
  };
}
