/**
 * The example app: a tRPC v11 router with subscriptions served by API Gateway WebSockets.
 * Imports `../lambda` (the package's `cdk-trpc-subscriptions/lambda` entry point).
 */
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
// zod/mini: the same validation as `zod` at a fraction of the bundle (docs/performance.md, handler
// cost): `import { z } from 'zod'` alone adds ~440 KB to the Lambda bundle, `zod/mini` ~15 KB.
import * as z from 'zod/mini';
import { initSubscriptions, type CreateContextOptions } from '../lambda';

/** ctx of every request. */
export interface AppContext {
  /** Who is connected (from connectionParams, else the $connect authorizer, else 'anon'). */
  readonly userId: string;
  /** The API Gateway connection, to exclude the sender from its own broadcasts. */
  readonly connectionId: string;
}

/** A chat message. */
export interface ChatMessage {
  readonly text: string;
  readonly at: Date;
  readonly from: string;
}

export const subscriptions = initSubscriptions();

const t = initTRPC.context<AppContext>().create({ transformer: superjson });

/**
 * The subscription routes, in their own router: the publisher's type depends on them only, so
 * the app router's mutations can publish without making its type circular (TS7022).
 */
const subscriptionRouter = t.router({
  /** Messages of a room. */
  onMessage: t.procedure
    .input(z.object({ room: z.string() }))
    .subscription(subscriptions.resolver<ChatMessage>()),
  chat: t.router({
    /** Who is typing (the user id). */
    onTyping: t.procedure.subscription(subscriptions.resolver<string>()),
  }),
  /** Notifications with ids: a reconnecting client resumes with `lastEventId`. */
  onNotification: t.procedure
    .input(z.optional(z.object({ lastEventId: z.nullish(z.string()) })))
    .subscription(subscriptions.trackedResolver<{ readonly message: string }>()),
});

const realtime = subscriptions
  .router({ router: subscriptionRouter, createContext })
  // No `.store()`: `dynamodb()` with the table named by TRPC_SUBSCRIPTIONS_TABLE_NAME.
  .routes.onMessage.filter({ name: 'byRoom', input: { room: true } })
  .routes.onMessage.filter({ name: 'byUserAndRoom', ctx: { userId: true }, input: { room: true } })
  .routes.chat.onTyping.filter({ name: 'byUser', ctx: { userId: true } });

/** Publishes from anywhere: inside `$default` it reuses the invocation's store and endpoint. */
export const publisher = realtime.publisher();

export const appRouter = t.mergeRouters(subscriptionRouter, t.router({
  whoami: t.procedure.query(({ ctx }) => ctx.userId),
  /** Sends a message to a room; every subscriber of the room but the sender receives it. */
  sendMessage: t.procedure
    .input(z.object({ room: z.string(), text: z.string().check(z.minLength(1)), at: z.optional(z.date()) }))
    .mutation(async ({ ctx, input }) => {
      const at = input.at ?? new Date();
      const result = await publisher.routes.onMessage.publish({
        data: { text: input.text, at, from: ctx.userId },
        filter: { name: 'byRoom', input: { room: input.room } },
        excludeConnectionId: ctx.connectionId,
      });
      return { delivered: result.delivered, at };
    }),
}));

/** The router's type, for `createTRPCClient<AppRouter>`. */
export type AppRouter = typeof appRouter;

/** Builds ctx from the persisted connection state; an `invalid` token is refused. */
export function createContext({ connectionParams, connectionId, connect }: CreateContextOptions): AppContext {
  if (connectionParams?.token === 'invalid' || connect.queryStringParameters?.token === 'invalid') {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Invalid token' });
  }
  const fromAuthorizer = connect.authorizer?.userId;
  const userId = connectionParams?.userId ?? (typeof fromAuthorizer === 'string' ? fromAuthorizer : 'anon');
  return { userId, connectionId };
}

/** The subscriptions serving the whole app router: the handlers (`handlers.ts`) and filters. */
export const appSubscriptions = realtime.serve(appRouter);
