import type { TrackedEnvelope } from '@trpc/server';
import { checkRouteOptions, type AnyRouteOptions, type RouteOptions } from './route-options';

/** Type-only key of the phantom types a subscription resolver carries. */
export declare const subscriptionTypes: unique symbol;

/**
 * Phantom types of a subscription made with {@link Subscriptions.resolver}: the data published
 * to it, the procedure's final ctx (after middlewares), its parsed input and whether events are
 * tracked. They travel in the `TNext` slot of the resolver's `AsyncIterable` type, which tRPC keeps
 * in the procedure's output type (the yield type is what clients see; `TNext` is never used).
 */
export interface SubscriptionTypes<TData, TCtx, TInput, TTracked extends boolean> {
  readonly [subscriptionTypes]: {
    readonly data: TData;
    readonly ctx: TCtx;
    readonly input: TInput;
    readonly tracked: TTracked;
  };
}

/** Any {@link SubscriptionTypes}. */
export type AnySubscriptionTypes = SubscriptionTypes<any, any, any, boolean>;

/**
 * Key of the runtime state a resolver attaches to the iterable it returns, read by the
 * `$default` handler after `callTRPCProcedure` ran the procedure's middlewares and input parsers.
 * @internal
 */
export const SUBSCRIPTION_STATE = Symbol.for('cdk-trpc-subscriptions.subscription-state');

/** What the `$default` handler learns from a started subscription. @internal */
export interface SubscriptionState {
  /** The procedure's ctx after middlewares. */
  readonly ctx: unknown;
  /** The procedure's parsed input. */
  readonly input: unknown;
  /** True for {@link Subscriptions.trackedResolver}. */
  readonly tracked: boolean;
  /** The route's options (`.with()`), if any. */
  readonly options?: AnyRouteOptions;
}

/** The iterable a resolver returns: never yields in Lambda, ends when the signal aborts. */
export interface SubscriptionIterable<TYield, TTypes extends AnySubscriptionTypes> extends AsyncIterable<TYield, void, TTypes> {
  /** @internal */
  readonly [SUBSCRIPTION_STATE]: SubscriptionState;
}

/** What a resolver receives from tRPC (the part this library reads). */
export interface ResolverOptions {
  readonly ctx: any;
  readonly input: any;
  readonly signal?: AbortSignal;
}

/** A subscription resolver for `t.procedure.subscription(...)`. */
export interface SubscriptionResolver<TData, TTracked extends boolean> {
  // An interface, not an intersection: TypeScript then still infers TOpts from tRPC's call.
  <TOpts extends ResolverOptions>(opts: TOpts): SubscriptionIterable<
    TTracked extends true ? TrackedEnvelope<TData> : TData,
    SubscriptionTypes<TData, TOpts['ctx'], TOpts['input'], TTracked>
  >;
  /**
   * The same resolver with route options (e.g. `initial`), typed by the procedure's final ctx
   * and parsed input, which TypeScript infers from `.subscription(...)`.
   */
  with<TCtx, TInput>(options: RouteOptions<TData, TCtx, TInput, TTracked>): RouteResolver<TData, TCtx, TInput, TTracked>;
}

/** A resolver made with route options (`.with()`): the ctx and input types are the procedure's. */
export type RouteResolver<TData, TCtx, TInput, TTracked extends boolean> = (
  opts: { readonly ctx: TCtx; readonly input: TInput; readonly signal?: AbortSignal },
) => SubscriptionIterable<
  TTracked extends true ? TrackedEnvelope<TData> : TData,
  SubscriptionTypes<TData, TCtx, TInput, TTracked>
>;

/**
 * Key of the route options a resolver made with `.with()` carries, so that code which does not
 * run the procedure can read them from the router (`procedure._def.resolver`). @internal
 */
export const ROUTE_OPTIONS = Symbol.for('cdk-trpc-subscriptions.route-options');

function createSubscriptionIterable(opts: ResolverOptions, tracked: boolean, options?: AnyRouteOptions): SubscriptionIterable<any, any> {
  const state: SubscriptionState = { ctx: opts.ctx, input: opts.input, tracked, ...(options ? { options } : {}) };
  return {
    [SUBSCRIPTION_STATE]: state,
    // Lambda never iterates: publishes reach subscribers through the store. A server that does
    // iterate (e.g. tRPC's own ws adapter in a dev server, or a test through `createCaller`) gets
    // the route's initial state, then a subscription that stays open until it is stopped.
    [Symbol.asyncIterator]: () => {
      let initial: Promise<unknown[]> | undefined;
      const waitForAbort = () => new Promise<IteratorResult<never, void>>((resolve) => {
        const done = () => resolve({ done: true, value: undefined });
        if (!opts.signal || opts.signal.aborted) return done();
        opts.signal.addEventListener('abort', done, { once: true });
      });
      return {
        next: async (): Promise<IteratorResult<any, void>> => {
          if (!options?.initial) return waitForAbort();
          initial ??= Promise.resolve(options.initial({ ctx: opts.ctx, input: opts.input })).then((items) => [...items]);
          const items = await initial;
          return items.length > 0 ? { done: false, value: items.shift() } : waitForAbort();
        },
        return: async () => ({ done: true, value: undefined }),
      };
    },
  };
}

/** Reads the state of an iterable returned by a resolver of this library, if it is one. @internal */
export function getSubscriptionState(value: unknown): SubscriptionState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  return (value as Partial<SubscriptionIterable<unknown, AnySubscriptionTypes>>)[SUBSCRIPTION_STATE];
}

function makeResolver(tracked: boolean): SubscriptionResolver<any, boolean> {
  const resolver = (opts: ResolverOptions) => createSubscriptionIterable(opts, tracked);
  return Object.assign(resolver, {
    with: (options: unknown) => {
      const checked = checkRouteOptions(options);
      const withOptions = (opts: ResolverOptions) => createSubscriptionIterable(opts, tracked, checked);
      return Object.assign(withOptions, { [ROUTE_OPTIONS]: checked });
    },
  }) as SubscriptionResolver<any, boolean>;
}

/** Reads the route options of a resolver made with `.with()`, if it is one. @internal */
export function getRouteOptions(resolver: unknown): AnyRouteOptions | undefined {
  if (typeof resolver !== 'function') return undefined;
  return (resolver as { [ROUTE_OPTIONS]?: AnyRouteOptions })[ROUTE_OPTIONS];
}

/** Makes a resolver whose subscription receives the data given to `publish({ data })`. @internal */
export function createResolver<TData>(): SubscriptionResolver<TData, false> {
  return makeResolver(false) as SubscriptionResolver<TData, false>;
}

/** Makes a resolver whose events are tracked (`publish({ data, id })`). @internal */
export function createTrackedResolver<TData>(): SubscriptionResolver<TData, true> {
  return makeResolver(true) as SubscriptionResolver<TData, true>;
}
