/**
 * The app the IAM scenarios run: a filtered route, a route with an event history, a connection
 * key, a `createContext` that refuses a token, and mutations that publish and control from inside
 * `$default` (what the handlers' role then sends). Every capability that sends a request of its
 * own is reachable from here.
 */
import { initTRPC, tracked, TRPCError } from '@trpc/server';
import * as z from 'zod/mini';
import { initSubscriptions, type CreateContextOptions, type PresenceEvent } from '../../../lambda';

/** ctx of every request. */
export interface ScenarioContext {
  readonly userId: string;
  readonly connectionId: string;
}

const subscriptions = initSubscriptions();
const t = initTRPC.context<ScenarioContext>().create();

const subscriptionRouter = t.router({
  onMessage: t.procedure.input(z.object({ room: z.string() })).subscription(subscriptions.resolver<{ readonly text: string }>()),
  onEvent: t.procedure
    .input(z.object({ room: z.optional(z.string()), lastEventId: z.nullish(z.string()) }))
    .subscription(subscriptions.trackedResolver<{ readonly n: number }>()),
  // Initial state on a route with a history: the latest event read before it, a marker appended when
  // the history holds none, the fenced switch to live (the input's `from` is the state's last id).
  onState: t.procedure
    .input(z.object({ from: z.optional(z.string()), lastEventId: z.nullish(z.string()) }))
    .subscription(subscriptions.trackedResolver<{ readonly n: number }>().with({
      initial: ({ input }) => (input.from ? [tracked(input.from, { n: 0 })] : []),
    })),
  /** Room presence: members by room, showing their user id. */
  lobby: t.procedure.input(z.object({ room: z.string() })).subscription(subscriptions.resolver<PresenceEvent<{ readonly name: string }>>()),
});

/** `connectionParams.userId`, else the `$connect` query's `userId`; the token `invalid` is refused. */
function createContext({ connectionParams, connectionId, connect }: CreateContextOptions): ScenarioContext {
  const query = connect.queryStringParameters ?? {};
  if (connectionParams?.token === 'invalid' || query.token === 'invalid') throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Invalid token' });
  return { userId: connectionParams?.userId ?? query.userId ?? 'anon', connectionId };
}

/** The subscriptions, before `serve()`: what publishers, control, the worker and the rollover use. */
export const scenarioSubscriptions = subscriptions
  .router({ router: subscriptionRouter, createContext, connectionKey: (ctx) => `user:${ctx.userId}` })
  .routes.onMessage.filter({ name: 'byRoom', input: { room: true } })
  .routes.onEvent.filter({ name: 'byRoom', input: { room: true } })
  .routes.onEvent.history({ retentionSeconds: 600 })
  .routes.onState.history({ retentionSeconds: 600 })
  .routes.lobby.filter({ name: 'byRoom', input: { room: true } })
  .routes.lobby.presence({ filter: 'byRoom', member: (ctx) => ({ name: ctx.userId }), leaveGraceMs: 0 });

/** Inside `$default` this publisher uses the invocation's store and Management API client. */
const inside = scenarioSubscriptions.publisher({ logger: { error: () => undefined, warn: () => undefined } });

const room = z.object({ room: z.string() });

/** The handlers' router: the subscriptions and mutations that publish and control. */
export const scenarioRouter = t.mergeRouters(subscriptionRouter, t.router({
  send: t.procedure.input(room).mutation(({ input }) => inside.routes.onMessage.publish({
    data: { text: 'hi' }, filter: { name: 'byRoom', input: { room: input.room } },
  })),
  event: t.procedure.input(room).mutation(({ input }) => inside.routes.onEvent.publish({
    data: { n: 1 }, filter: { name: 'byRoom', input: { room: input.room } },
  })),
  kick: t.procedure.input(z.object({ room: z.string(), userId: z.string() })).mutation(async ({ input }) => ({
    stop: await inside.routes.onMessage.stop({ filter: { name: 'byRoom', input: { room: input.room } } }),
    online: await inside.connections.isOnline(`user:${input.userId}`),
    reconnect: await inside.connections.reconnect({ key: `user:${input.userId}` }),
    disconnect: await inside.connections.disconnect({ key: `user:${input.userId}` }),
  })),
}));

/** The handlers' builder. */
export const scenarioHandlers = scenarioSubscriptions.serve(scenarioRouter);

/**
 * The same subscriptions with lifecycle hooks (a route's onSubscribe/onUnsubscribe, connection
 * hooks): every removal then reports what it won (conditional deletes) and moves are marked,
 * requests of their own that `hooksScenario` sends from every role.
 */
export const hookedSubscriptions = scenarioSubscriptions
  .routes.onMessage.hooks({
    onSubscribe: ({ ctx, input }) => ({ userId: ctx.userId, room: input.room }),
    onUnsubscribe: () => undefined,
  })
  .hooks({ onConnect: () => undefined, onDisconnect: () => undefined });

/** The handlers' builder with hooks. */
export const hookedHandlers = hookedSubscriptions.serve(scenarioRouter);
