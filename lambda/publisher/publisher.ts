import type { StopArgsRuntime, StopFn } from './control';
import { deliver, type PublishResult } from './fan-out';
import { appendToHistory } from './history';
import type { PublisherOptions } from './options';
import { settlePublisherOptions } from './settings';
import type { SubscriptionsConfig } from '../core/config';
import { publishFilterEntry, type PublishFilter } from '../core/filters';
import { historyOf } from '../core/history';
import { isSubscriptionProcedure } from '../core/procedures';
import { buildDataFrames } from '../protocol/encode';
import type { FilterEntry } from '../store/store';
import { createMetricsRecorder } from '../util/emf';
import { createRouteMethodsProxy } from '../util/route-proxy';

/** What `publish` takes at runtime (the typed form is checked by TypeScript). */
export interface PublishArgsRuntime {
  readonly data: unknown;
  readonly filter?: PublishFilter;
  /** Event id of a tracked subscription (`subscriptions.trackedResolver()`). */
  readonly id?: string;
  /** Don't deliver to this connection (e.g. the sender of a mutation). */
  readonly excludeConnectionId?: string;
}

/**
 * Checks the arguments of a publish (direct or queued) before anything is sent: a descriptive
 * Error for an unknown path, a malformed argument or a filter the route does not declare.
 * @returns the filter entry to match
 */
export function checkPublishArgs(config: SubscriptionsConfig, path: string, args: PublishArgsRuntime): FilterEntry | undefined {
  if (!isSubscriptionProcedure(config.router, path)) {
    throw new Error(`Publish to "${path}": the router has no subscription procedure at this path`);
  }
  if (typeof args !== 'object' || args === null || !('data' in args)) {
    throw new Error(`Publish to "${path}": expected { data, filter?, id?, excludeConnectionId? }`);
  }
  if (args.id !== undefined && typeof args.id !== 'string') {
    throw new Error(`Publish to "${path}": \`id\` must be a string (the tracked event id), got: ${typeof args.id}`);
  }
  return args.filter === undefined ? undefined : publishFilterEntry(path, config.filters.get(path) ?? [], args.filter);
}

/** Publishes to the subscribers of one route. @internal */
export type PublishFn = (path: string, args: PublishArgsRuntime) => Promise<PublishResult>;

/** Creates the function behind `publisher.routes.<path>.publish()`. @internal */
export function createPublishFn(config: SubscriptionsConfig, options: PublisherOptions = {}): PublishFn {
  const settings = settlePublisherOptions(config, options);
  return async (path, args) => {
    const filter = checkPublishArgs(config, path, args);
    // HISTORY_DEFINE (../constants.ts): a bundle without history never appends.
    const history = process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off' ? historyOf(config, path) : undefined;
    const frameFor = history ? undefined : buildDataFrames(config, path, args.data, args.id);
    const router = settings.router(path);
    const client = router.accessFor(router.localRegion)!.client;
    const store = settings.store();
    // One EMF line per publish (the fan-out worker prints one per invocation).
    const metrics = createMetricsRecorder(settings.metrics);
    metrics.count('publishes');
    try {
      const dc = {
        store,
        client,
        router,
        logger: settings.logger,
        hooks: settings.hooks,
        concurrency: settings.concurrency,
        callTimeoutMs: settings.calls.timeouts.callTimeoutMs,
        metrics,
      };
      if (process.env.TRPC_SUBSCRIPTIONS_HISTORY === 'off' || !history) {
        return await deliver(dc, { path, filter, frameFor: frameFor!, excludeConnectionId: args.excludeConnectionId });
      } else {
        // The append comes first: a subscription whose live frame fails finds the event when it resumes.
        const appended = await appendToHistory(store, config, path, args, filter, history);
        const { eventId } = appended;
        const result = await deliver(dc, { path, filter, frameFor: appended.frameFor, excludeConnectionId: args.excludeConnectionId, eventId });
        return { ...result, eventId };
      }
    } finally {
      metrics.flush();
    }
  };
}

/**
 * The runtime of `publisher.routes`: a proxy whose `.publish(args)` at any path publishes there,
 * `.stop(args)` stops (or fails) the subscriptions there, and `.enqueue(args)` queues the same
 * publish for the fan-out worker.
 * @internal
 */
export function createPublisherRoutes(
  publish: PublishFn,
  more: {
    readonly stop?: StopFn;
    readonly enqueue?: (path: string, args: PublishArgsRuntime) => Promise<unknown>;
    /** More methods of every route (e.g. presence's `members()`). */
    readonly methods?: Readonly<Record<string, (route: string, arg: unknown) => unknown>>;
  } = {},
): unknown {
  const { stop, enqueue } = more;
  const methods: Record<string, (route: string, arg: unknown) => unknown> = {
    publish: (route, arg) => publish(route, arg as PublishArgsRuntime),
    ...more.methods,
  };
  if (stop) methods.stop = (route, arg) => stop(route, arg as StopArgsRuntime);
  if (enqueue) methods.enqueue = (route, arg) => enqueue(route, arg as PublishArgsRuntime);
  return createRouteMethodsProxy('publisher.routes', '{ data }', methods);
}
