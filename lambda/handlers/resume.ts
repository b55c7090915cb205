import { TRPCError } from '@trpc/server';
import type { Runtime } from './runtime';
import type { HistorySettings } from '../core/history';
import { postToConnection } from '../management/client';
import { frameWithResult } from '../protocol/encode';
import { EVENT_ID_DIGITS, eventMatches, isEventId } from '../store/history';
import type { AddSubscriptionResult, SubscriptionRecord, SubscriptionStore } from '../store/store';

/** Sends one frame to the subscribing connection; false when the connection is gone. */
export type FrameSender = (frame: string) => Promise<boolean>;

/**
 * Rounds of "replay what is new, then go live unless the history moved" before giving up. Each
 * round ends with a conditional write; it fails only when an event was appended during the round,
 * so this is reached only under a sustained stream of publishes faster than a round trip.
 */
const MAX_RESUME_ROUNDS = 20;

/** The error a resume gets when its `lastEventId` is no longer in the history. */
export function historyExpiredError(path: string, lastEventId: string, history: HistorySettings): TRPCError {
  return new TRPCError({
    code: 'PRECONDITION_FAILED',
    message: `History expired: "${path}" no longer holds event ${JSON.stringify(lastEventId)} (events are kept ${history.retentionSeconds} s); ` +
      'load the current state, then subscribe again without lastEventId',
  });
}

/** The error a resume gets when its `lastEventId` is after every event the history issued. */
export function unknownEventError(path: string, lastEventId: string, latest: string | undefined): TRPCError {
  return new TRPCError({
    code: 'PRECONDITION_FAILED',
    message: `Unknown event: "${path}" never issued event ${JSON.stringify(lastEventId)} ` +
      `(${latest === undefined ? 'its history holds no event' : `its latest is ${JSON.stringify(latest)}`}); ` +
      'load the current state, then subscribe again without lastEventId',
  });
}

/**
 * Why `lastEventId` is not in the history: it expired, or it was never issued (it is after the
 * history's latest event while that one is still kept, so nothing after it can have expired; or,
 * with nothing kept, after the clock, which ids never run ahead of: docs/table-design.md).
 */
async function missingEventError(store: SubscriptionStore, path: string, lastEventId: string, history: HistorySettings): Promise<TRPCError> {
  const latest = await store.readLastEvent?.(path);
  const latestLive = latest !== undefined && latest.expireAt * 1000 > Date.now();
  if (latest !== undefined && latestLive && latest.eventId < lastEventId) return unknownEventError(path, lastEventId, latest.eventId);
  if (!latestLive && Number(lastEventId) > Date.now()) return unknownEventError(path, lastEventId, latest?.eventId);
  return historyExpiredError(path, lastEventId, history);
}

/**
 * Starts a subscription that resumes after `lastEventId`: replays the events of the route's
 * history after it that match the subscription's filters, in id order, then stores the
 * subscription on the condition that the history holds nothing after the last event read (the
 * fence); when an event was appended meanwhile, replays again from there. Every event is thus
 * sent exactly once: the ones up to the fence by this replay, before the subscription exists; the
 * later ones live, by publishers whose subscriber query follows the fenced write (each publish
 * appends before it queries). docs/table-design.md (Event history) has the full argument.
 */
export async function resumeSubscription(
  rt: Runtime, record: SubscriptionRecord, lastEventId: unknown, history: HistorySettings, maxSubscriptions: number, send: FrameSender,
): Promise<AddSubscriptionResult> {
  const { path } = record;
  if (!isEventId(lastEventId)) {
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: `lastEventId must be an event id of "${path}" (${EVENT_ID_DIGITS} digits, as its history assigns them), got: ${JSON.stringify(lastEventId)}`,
    });
  }
  const store = rt.store();
  if (!store.readEvents) throw new Error(`Subscription to "${path}" keeps a history, but the store has no readEvents() (use dynamodb() or memory())`);
  let cursor = lastEventId;
  for (let round = 0; round < MAX_RESUME_ROUNDS; round++) {
    let found = false;
    for await (const page of store.readEvents(path, cursor)) {
      for (const event of page) {
        if (event.eventId === cursor) {
          // The client's last event must still be within the retention: what followed it is then too.
          if (round === 0 && event.expireAt * 1000 <= Date.now()) throw historyExpiredError(path, lastEventId, history);
          found = true;
          continue;
        }
        // Ids are dense: the first row read must be the cursor itself, else it expired (events after it are kept).
        if (!found) throw historyExpiredError(path, lastEventId, history);
        if (eventMatches(record.filters, event.filter) && !(await send(frameWithResult(record.subscriptionId, event.result, record.jsonrpc)))) {
          return 'connection-gone';
        }
        cursor = event.eventId;
      }
    }
    // Nothing at or after it: the history never issued it, or everything up to it expired.
    if (!found) throw await missingEventError(store, path, lastEventId, history);
    const outcome = await store.addSubscription(record, { maxSubscriptions, historyFence: { path, afterEventId: cursor } });
    if (outcome !== 'history-moved') return outcome;
  }
  throw new TRPCError({
    code: 'TOO_MANY_REQUESTS',
    message: `Subscription to "${path}" could not catch up with its history in ${MAX_RESUME_ROUNDS} rounds: events arrive faster than they can be replayed`,
  });
}

/**
 * A {@link FrameSender} through the Management API within `callTimeoutMs` (the client's retry
 * strategy retries throttling).
 */
export function managementSender(
  rt: Runtime, client: () => Parameters<typeof postToConnection>[0], connectionId: string, callTimeoutMs: number,
): FrameSender {
  return async (frame) => {
    const failure = await postToConnection(client(), connectionId, frame, callTimeoutMs);
    if (!failure) return true;
    if (failure.kind === 'gone') return false;
    rt.logger.error('replayed event could not be sent', { connectionId, ...failure });
    throw new Error(`Replayed event could not be sent: ${failure.message}`);
  };
}
