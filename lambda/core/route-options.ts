import type { TrackedEnvelope } from '@trpc/server';
import { isRecord } from '../util/guards';

/** What a route's `initial` function receives: the subscription's final ctx and parsed input. */
export interface InitialStateArgs<TCtx, TInput> {
  /** The procedure's ctx after middlewares. */
  readonly ctx: TCtx;
  /**
   * The procedure's parsed input (on a tracked route resubscribing without a history, with the
   * client's `lastEventId` merged in, as tRPC's ws adapter does).
   */
  readonly input: TInput;
}

/**
 * One item of a route's initial state: the route's data, or on a tracked route a
 * `tracked(id, data)` envelope (`tracked` from `@trpc/server`), as a tRPC generator yields it.
 */
export type InitialStateItem<TData, TTracked extends boolean> = TTracked extends true ? TrackedEnvelope<TData> : TData;

/** What a new subscriber receives before any live event, in order. */
export type InitialState<TData, TTracked extends boolean> = readonly InitialStateItem<TData, TTracked>[];

/**
 * Options of a subscription route, given with `subscriptions.resolver<T>().with({ ... })` (or
 * `trackedResolver<T>().with(...)`): typed by the procedure's final ctx and parsed input, and by
 * the route's data.
 */
export interface RouteOptions<TData, TCtx, TInput, TTracked extends boolean> {
  /**
   * The state a new subscriber receives right after subscribing, before any live event (as the
   * first yields of a tRPC generator): e.g. a chat room's recent messages. Each item is sent as one
   * data frame, in order, before `started`; then live events follow.
   *
   * On a tracked route with `.history()`, items carry the history's event ids
   * (`tracked(eventId, data)`, the ids `publish()` returned), and the state must hold every
   * matching event up to its last id: the subscription then goes live after that id exactly as a
   * resume does (the events published meanwhile are replayed, none twice). A resubscribe with
   * `lastEventId` gets the replay only, never the initial state again. docs/runtime.md
   * ("Initial state") states every rule.
   * @default - none: the subscriber receives live events only
   */
  readonly initial?: (args: InitialStateArgs<TCtx, TInput>) => InitialState<TData, TTracked> | Promise<InitialState<TData, TTracked>>;
}

/** Route options whatever their types (what the runtime reads). @internal */
export type AnyRouteOptions = RouteOptions<any, any, any, boolean>;

/** Checks the options given to `.with()`, so a mistake fails when the router is defined. @internal */
export function checkRouteOptions(options: unknown): AnyRouteOptions {
  if (!isRecord(options)) {
    throw new Error(`subscriptions.resolver().with(): options must be an object like { initial: async ({ ctx, input }) => [...] }, got: ${JSON.stringify(options)}`);
  }
  if (options.initial !== undefined && typeof options.initial !== 'function') {
    throw new Error(`subscriptions.resolver().with(): \`initial\` must be a function ({ ctx, input }) => items, got: ${typeof options.initial}`);
  }
  return options as AnyRouteOptions;
}
