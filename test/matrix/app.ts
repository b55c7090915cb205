/**
 * The app every mode of the matrix deploys: a chat route (untracked) and a tracked route with a
 * history, both filtered by room, on connections keyed by user (`user:{userId}` from the
 * connectionParams). A function, not a module constant: tRPC reads `isDev` (NODE_ENV) when the
 * router is created, and the production mode sets NODE_ENV first.
 */
import { initTRPC, tracked } from '@trpc/server';
import superjson from 'superjson';
import * as z from 'zod/mini';
import { initSubscriptions, type PresenceEvent, type RegionsOptions, type SubscriptionStore } from '../../lambda';

/** What both routes deliver: an id to count arrivals by. */
export interface MatrixMessage {
  readonly id: string;
}

/**
 * The app's own record of each room's events (what `onEvent`'s initial state reads), shared by
 * every Region of the process as a global table would be: the ids `publish()` returned.
 */
export const matrixRoomState = {
  rows: new Map<string, Array<{ eventId: string; message: MatrixMessage }>>(),
  /** Runs inside `initial` after it read a room's state (the initial-state capability publishes there). */
  duringInitial: new Map<string, () => Promise<void>>(),
};

/** Options of {@link matrixApp}. */
export interface MatrixAppOptions {
  /** @default - the default store (`TRPC_SUBSCRIPTIONS_TABLE_NAME`), as a handlers file deployed by the construct */
  readonly store?: SubscriptionStore;
  /** @default - the Regions of the environment (none: single-region) */
  readonly regions?: RegionsOptions;
}

/** A lifecycle hook's call, as the matrix app records it (every Region's handlers run in this process). */
export interface HookCall {
  readonly hook: 'subscribe' | 'unsubscribe' | 'connect' | 'disconnect';
  readonly userId: string;
  readonly room?: string;
  readonly reason?: string;
}

/** Every hook call of every mode's app, in order (the hooks capability reads its own user's). */
export const hookCalls: HookCall[] = [];

/** Builds the router and its subscriptions. */
export function matrixApp(options: MatrixAppOptions = {}) {
  const subscriptions = initSubscriptions();
  const t = initTRPC.context<{ userId: string; connectionId: string }>().create({ transformer: superjson });
  const router = t.router({
    onMessage: t.procedure.input(z.object({ room: z.string() })).subscription(subscriptions.resolver<MatrixMessage>()),
    onEvent: t.procedure
      .input(z.object({ room: z.string(), lastEventId: z.nullish(z.string()) }))
      // The room's recorded events as initial state: only a subscribe without lastEventId gets it.
      .subscription(subscriptions.trackedResolver<MatrixMessage>().with({
        initial: async ({ input }) => {
          const state = (matrixRoomState.rows.get(input.room) ?? []).map((row) => tracked(row.eventId, row.message));
          await matrixRoomState.duringInitial.get(input.room)?.();
          return state;
        },
      })),
    roomMembers: t.procedure.input(z.object({ room: z.string() })).subscription(subscriptions.resolver<PresenceEvent<{ userId: string }>>()),
  });
  let app = subscriptions
    .router({
      router,
      createContext: ({ connectionParams, connectionId }) => ({ userId: connectionParams?.userId ?? 'anon', connectionId }),
      connectionKey: (ctx) => `user:${ctx.userId}`,
    })
    .routes.onMessage.filter({ name: 'byRoom', input: { room: true } })
    .routes.onEvent.filter({ name: 'byRoom', input: { room: true } })
    .routes.onEvent.history({ retentionSeconds: 600 })
    .routes.roomMembers.filter({ name: 'byRoom', input: { room: true } })
    .routes.roomMembers.presence({ filter: 'byRoom', member: (ctx) => ({ userId: ctx.userId }), leaveGraceMs: 300 })
    .routes.onMessage.hooks({
      onSubscribe: ({ ctx, input }) => {
        hookCalls.push({ hook: 'subscribe', userId: ctx.userId, room: input.room });
        return { userId: ctx.userId, room: input.room };
      },
      onUnsubscribe: ({ state, reason }) => void hookCalls.push({ hook: 'unsubscribe', ...state, reason }),
    })
    .hooks({
      onConnect: ({ ctx }) => void hookCalls.push({ hook: 'connect', userId: ctx.userId }),
      onDisconnect: ({ key, reason }) => void hookCalls.push({ hook: 'disconnect', userId: String(key).replace(/^user:/, ''), reason }),
    });
  if (options.store) app = app.store({ store: options.store });
  if (options.regions) app = app.regions(options.regions);
  return { router, app };
}

/** The matrix app's subscriptions builder. */
export type MatrixSubscriptions = ReturnType<typeof matrixApp>['app'];
/** Its router. */
export type MatrixRouter = ReturnType<typeof matrixApp>['router'];
/** Its publisher. */
export type MatrixPublisher = ReturnType<MatrixSubscriptions['publisher']>;
