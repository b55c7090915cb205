/**
 * A route's initial state (`.with({ initial })`): what a new subscriber receives before any live
 * event. The frames are posted before the subscription is stored, as a resume's replay is, so no
 * live event can overtake them; on a route with a history the subscription then goes live after
 * the state's last event id through the resume's fenced replay, so nothing published meanwhile is
 * lost or sent twice. docs/runtime.md ("Initial state") states the rules.
 */
import { isTrackedEnvelope, TRPCError } from '@trpc/server';
import { resumeSubscription, type FrameSender } from './resume';
import type { Runtime } from './runtime';
import type { HistorySettings } from '../core/history';
import type { SubscriptionState } from '../core/resolver';
import { dataResultJson, framesFromResult, frameWithResult, PayloadTooLargeError } from '../protocol/encode';
import { isEventId } from '../store/history';
import type { AddSubscriptionResult, FilterEntry, SubscriptionRecord } from '../store/store';

/**
 * The filter of the marker event a subscriber appends to a route's history that holds no live
 * event, to have an id to fence on. Filter names are never empty, so no subscription matches it:
 * no replay sends it and no publish delivers it.
 */
export const NO_SUBSCRIBER_FILTER: FilterEntry = { name: '', values: [] };

/** The data-frame `result`s of the initial items, checked and encoded before any is sent. */
function encodeItems(
  rt: Runtime, path: string, items: unknown, tracked: boolean, withHistory: boolean,
): { results: string[]; lastEventId?: string } {
  if (!Array.isArray(items)) {
    throw new TypeError(`Subscription to "${path}": \`initial\` must return an array of items, got: ${items === null ? 'null' : typeof items}`);
  }
  const results: string[] = [];
  let lastEventId: string | undefined;
  for (const item of items) {
    if (tracked && !isTrackedEnvelope(item)) {
      throw new TypeError(`Subscription to "${path}": \`initial\` of a tracked route must return tracked(id, data) items (tracked from @trpc/server)`);
    }
    const [id, data] = tracked ? item as [string, unknown] : [undefined, item];
    const result = dataResultJson(rt, data, id);
    try {
      framesFromResult(path, result);
    } catch (error) {
      if (!(error instanceof PayloadTooLargeError)) throw error;
      throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `Initial state of "${path}": an item is ${error.bytes} bytes, API Gateway accepts at most ${error.maxBytes} bytes per WebSocket message` });
    }
    // With a history, the subscription goes live after the last id (and the client resumes from
    // it): event ids out of order would replay what the state already sent.
    // HISTORY_DEFINE (../constants.ts), written out in full: a bundle without history drops the check.
    if (process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off' && withHistory && id !== undefined && lastEventId !== undefined && isEventId(id) && isEventId(lastEventId) && id <= lastEventId) {
      throw new TypeError(`Subscription to "${path}": \`initial\` must return its tracked items in increasing id order, got ${JSON.stringify(id)} after ${JSON.stringify(lastEventId)}`);
    }
    results.push(result);
    if (id !== undefined) lastEventId = id;
  }
  return { results, ...(lastEventId === undefined ? {} : { lastEventId }) };
}

/**
 * The id a history route's new subscription goes live after when the initial state's last id
 * cannot be resumed from, read before `initial` runs (so every event the state may miss is after
 * it): the history's latest event, or, when the history holds no live event, a marker event
 * appended now (the fence needs an existing id: the first id of an empty history comes from the
 * publisher's clock, which the subscriber cannot predict). None in a multi-region set-up: the
 * subscriber's Region may not be the one that appends to the history, and two Regions' conditional
 * writes of one id both succeed (the later replicated row would replace an event).
 */
async function cursorBeforeState(rt: Runtime, path: string, history: HistorySettings): Promise<string | undefined> {
  const store = rt.store();
  const latest = await store.readLastEvent?.(path);
  if (latest !== undefined && latest.expireAt * 1000 > Date.now()) return latest.eventId;
  if (rt.region !== undefined) return undefined;
  if (!store.appendEvent) throw new Error(`Subscription to "${path}" keeps a history, but the store has no appendEvent() (use dynamodb() or memory())`);
  return store.appendEvent({
    path,
    filter: NO_SUBSCRIBER_FILTER,
    expireAt: Math.floor(Date.now() / 1000) + history.retentionSeconds,
    encode: () => '{"type":"data"}',
  });
}

/** A resume error that means "this id cannot be resumed from" (expired or never issued). */
function isUnresumable(error: unknown): boolean {
  return error instanceof TRPCError && error.code === 'PRECONDITION_FAILED';
}

/**
 * Sends the route's initial state, in order, then stores the subscription: plainly on a route
 * without a history (an event published between `initial`'s read and the store's write is missed:
 * only a history can fence it), or, with a history, going live after the state's last event id
 * (the events after it replayed first, fenced as a resume), else after the latest event the
 * history held before `initial` ran. Nothing is sent when `initial` throws or returns a bad item.
 */
export async function startWithInitialState(
  rt: Runtime, record: SubscriptionRecord, state: SubscriptionState, history: HistorySettings | undefined,
  maxSubscriptions: number, send: FrameSender,
): Promise<AddSubscriptionResult> {
  const initial = state.options!.initial!;
  const { path } = record;
  // Read before the app's state: an event the state misses was appended after this one, or is in it.
  // HISTORY_DEFINE (../constants.ts): a bundle without history has none of the fencing below.
  const fallback = process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off' && history ? await cursorBeforeState(rt, path, history) : undefined;
  const items = await initial({ ctx: state.ctx, input: state.input });
  const { results, lastEventId } = encodeItems(rt, path, items, state.tracked, history !== undefined);
  for (const result of results) {
    if (!(await send(frameWithResult(record.subscriptionId, result, record.jsonrpc)))) return 'connection-gone';
  }
  if (process.env.TRPC_SUBSCRIPTIONS_HISTORY === 'off' || !history) {
    return rt.store().addSubscription(record, { maxSubscriptions });
  } else {
    return goLiveAfterState(rt, record, history, maxSubscriptions, send, lastEventId, fallback);
  }
}

/** {@link startWithInitialState} on a route with a history, once the state was sent. */
async function goLiveAfterState(
  rt: Runtime, record: SubscriptionRecord, history: HistorySettings, maxSubscriptions: number, send: FrameSender,
  lastEventId: string | undefined, fallback: string | undefined,
): Promise<AddSubscriptionResult> {
  if (lastEventId !== undefined && isEventId(lastEventId)) {
    try {
      return await resumeSubscription(rt, record, lastEventId, history, maxSubscriptions, send);
    } catch (error) {
      // Only the first read can refuse the id, before anything was replayed: fall back below.
      if (!isUnresumable(error)) throw error;
    }
  }
  return fallback === undefined
    ? rt.store().addSubscription(record, { maxSubscriptions })
    : resumeSubscription(rt, record, fallback, history, maxSubscriptions, send);
}
