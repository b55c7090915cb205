import { TRPCError } from '@trpc/server';
import type { RequestContext } from './context';
import { removeWithHooks, storeWithHooks } from './hooks';
import { startWithInitialState } from './initial-state';
import { joinPresence } from './presence';
import { resumeSubscription, type FrameSender } from './resume';
import type { Runtime } from './runtime';
import { filterEntriesFor } from '../core/filters';
import { historyOf } from '../core/history';
import { getSubscriptionState } from '../core/resolver';
import { resultFrame } from '../protocol/encode';
import type { RequestId } from '../store/store';

/**
 * Stores a subscription started by a procedure made with `subscriptions.resolver()` and answers
 * `started` only once its rows are durable, so a publish after the client's `onStarted` reaches it.
 *
 * Outcomes of the store: `duplicate` -> BAD_REQUEST "Duplicate id" (as tRPC's ws adapter);
 * `limit-reached` (the connection holds `maxSubscriptions` already) -> TOO_MANY_REQUESTS;
 * `stopped` (the client's stop arrived first) and `connection-gone` (nobody is listening) -> no
 * frame. Returns the frame to send, if any.
 */
export async function startSubscription(
  rt: Runtime, request: RequestContext, id: RequestId, path: string, result: unknown, maxSubscriptions: number, jsonrpc?: '2.0',
  resume: ResumeRequest = {},
): Promise<string | undefined> {
  const state = getSubscriptionState(result);
  if (!state) {
    throw new TRPCError({
      code: 'METHOD_NOT_SUPPORTED',
      message: `Subscription "${path}" cannot be served over API Gateway: its resolver must be subscriptions.resolver() or subscriptions.trackedResolver()`,
    });
  }
  const filters = filterEntriesFor(path, rt.config.filters.get(path) ?? [], state.ctx, state.input);
  const { connectionId } = request.connection;
  const record = {
    connectionId,
    subscriptionId: id,
    path,
    filters,
    expireAt: request.connection.expireAt,
    ...(rt.region === undefined ? {} : { region: rt.region }),
    ...(jsonrpc ? { jsonrpc } : {}),
  };
  // HISTORY_DEFINE (../constants.ts), written out in full: a bundle without history never resumes.
  const history = process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off' ? historyOf(rt.config, path) : undefined;
  const resuming = history !== undefined && resume.send !== undefined && resume.lastEventId !== undefined && resume.lastEventId !== null;
  const outcome = await storeWithHooks(rt, record, state, (stored) => (process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off' && resuming
    ? resumeSubscription(rt, stored, resume.lastEventId, history, maxSubscriptions, resume.send!)
    : state.options?.initial && resume.send
      ? startWithInitialState(rt, stored, state, history, maxSubscriptions, resume.send)
      : rt.store().addSubscription(stored, { maxSubscriptions })));
  switch (outcome) {
    case 'created':
      // PRESENCE_DEFINE (../constants.ts): a bundle without presence leaves the joins out.
      if (process.env.TRPC_SUBSCRIPTIONS_PRESENCE !== 'off') await joinPresence(rt, request, record, state.ctx, resume.send);
      rt.metrics.count('subscriptionsStarted');
      return resultFrame(rt, id, { type: 'started' }, jsonrpc);
    case 'duplicate':
      throw new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${id}` });
    case 'limit-reached':
      rt.metrics.count('subscriptionsRefused');
      throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `At most ${maxSubscriptions} subscriptions per connection` });
    case 'stopped':
      // The client already stopped it and forgot the id: a frame would be ignored.
      return undefined;
    case 'connection-gone':
      rt.logger.warn('subscription for a connection that is gone', { connectionId, subscriptionId: id, path });
      return undefined;
    case 'history-moved':
      // Only a fenced add returns it, and resumeSubscription() handles it.
      throw new Error(`Subscription to "${path}": unexpected outcome ${outcome}`);
  }
}

/** How a subscription of a route with a history resumes. */
export interface ResumeRequest {
  /** The client's `lastEventId` (its params, else its input): resume after this event. */
  readonly lastEventId?: unknown;
  /** Sends replayed events to the connection before the subscription goes live. */
  readonly send?: FrameSender;
}

/** Handles `subscription.stop`: unknown ids are ignored (the store leaves a tombstone). */
export async function stopSubscription(rt: Runtime, connectionId: string, id: RequestId, jsonrpc?: '2.0'): Promise<string | undefined> {
  const removed = await removeWithHooks(rt, connectionId, id);
  if (removed) rt.metrics.count('subscriptionsStopped');
  return removed ? resultFrame(rt, id, { type: 'stopped' }, jsonrpc) : undefined;
}
