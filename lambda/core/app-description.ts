/**
 * What a `$default` handler made by the builder tells local tools (the `dev` console) about its
 * app: the subscription routes and their filters, a publisher configured like the handler, the
 * handler's store and the router's transformer. It rides on the handler function under a
 * `Symbol.for` key, so that a tool finds it in a handlers module bundled with its own copy of this
 * package (as `dev` bundles the entry). The Lambda runtime never reads it.
 */
import type { FilterConfig } from './filters';
import type { SubscriptionStore } from '../store/store';

/** The key of a handler's {@link AppDescription}. @internal */
export const APP_DESCRIPTION = Symbol.for('cdk-trpc-subscriptions.app-description');

/** Bumped when {@link AppDescription} changes incompatibly: a tool ignores other versions. @internal */
export const APP_DESCRIPTION_VERSION = 1;

/** One subscription route of the app. @internal */
export interface RouteDescription {
  /** Procedure path, e.g. `chat.onTyping`. */
  readonly path: string;
  /** Its filters, fields in declared order (ctx first, then input). */
  readonly filters: readonly FilterConfig[];
  /** The route keeps a history (`.history()`): a publish takes no `id`. */
  readonly history: boolean;
}

/** `publisher()`'s result without its types: `routes` is the router-shaped proxy. @internal */
export interface DescribedPublisher {
  readonly routes: unknown;
  readonly connections: unknown;
}

/** The description a `$default` handler carries. @internal */
export interface AppDescription {
  readonly version: typeof APP_DESCRIPTION_VERSION;
  /** Every subscription procedure of the served router, in the router's order. */
  readonly routes: readonly RouteDescription[];
  /** The app's publisher with the handler's store, endpoint and Management API client (created once). */
  publisher(): DescribedPublisher;
  /** The handler's store (the default store when none was given). */
  store(): SubscriptionStore;
  /** Reads a request's input (`input`) or a frame's data (`output`) back with the router's transformer. */
  deserialize(data: unknown, direction: 'input' | 'output'): unknown;
}

/** The description `value` (a handler) carries, when it carries one of this version. @internal */
export function appDescriptionOf(value: unknown): AppDescription | undefined {
  if (typeof value !== 'function' && (typeof value !== 'object' || value === null)) return undefined;
  const description = (value as { [APP_DESCRIPTION]?: Partial<AppDescription> })[APP_DESCRIPTION];
  return description?.version === APP_DESCRIPTION_VERSION ? (description as AppDescription) : undefined;
}
