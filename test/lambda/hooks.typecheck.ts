/**
 * Compile-time tests of lifecycle hooks (checked by `tsc -p tsconfig.dev.json`, like
 * ./types.typecheck.ts): each route's hooks see its ctx (after middlewares) and input,
 * `onUnsubscribe` sees what that route's `onSubscribe` returned, connection hooks see the
 * router's ctx and key type, and misuse is an error. Nothing here runs.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { z } from 'zod';
import { initSubscriptions, memory, type DisconnectReason, type UnsubscribeReason } from '../../lambda';

const subscriptions = initSubscriptions();
interface Ctx {
  readonly userId: string;
  readonly db: { query(sql: string): Promise<unknown> };
}
const t = initTRPC.context<Ctx>().create();
const withRole = t.procedure.use(({ next }) => next({ ctx: { role: 'admin' as 'admin' | 'user' } }));

const router = t.router({
  onMessage: t.procedure.input(z.object({ room: z.string() })).subscription(subscriptions.resolver<{ readonly text: string }>()),
  admin: t.router({ onAudit: withRole.subscription(subscriptions.resolver<number>()) }),
});

const base = subscriptions
  .router({ router, createContext: () => ({ userId: 'u', db: { query: async () => undefined } }), connectionKey: (ctx) => `user:${ctx.userId}` as const })
  .store({ store: memory() });

// ---- route hooks: ctx and input of the route ----
base.routes.onMessage.hooks({
  onSubscribe: async ({ ctx, input, path, connectionId, subscriptionId }) => {
    const room: string = input.room;
    const user: string = ctx.userId;
    await ctx.db.query('select 1');
    const ids: [string, string, string | number] = [path, connectionId, subscriptionId];
    if (room === 'locked') throw new TRPCError({ code: 'FORBIDDEN' });
    void ids;
    return { user, room };
  },
  onUnsubscribe: ({ state, reason }) => {
    const user: string = state.user;
    const why: UnsubscribeReason = reason;
    void user;
    void why;
    // @ts-expect-error onUnsubscribe gets what onSubscribe returned, not ctx
    void state.db;
  },
});

// The middleware's ctx reaches the hook.
base.routes.admin.onAudit.hooks({
  onSubscribe: ({ ctx }) => {
    const role: 'admin' | 'user' = ctx.role;
    return role;
  },
  onUnsubscribe: ({ state }) => {
    const role: 'admin' | 'user' = state;
    void role;
  },
});

// Without onSubscribe, state is undefined.
base.routes.onMessage.hooks({
  onUnsubscribe: ({ state }) => {
    const nothing: undefined = state;
    void nothing;
  },
});

base.routes.onMessage.hooks({
  // @ts-expect-error unknown input field
  onSubscribe: ({ input }) => void input.nope,
});

base.routes.onMessage.hooks({
  // @ts-expect-error onSubscribe's result is kept on the row: it must be JSON (a Date is not)
  onSubscribe: () => ({ at: new Date() }),
});

base.routes.onMessage.hooks({
  // @ts-expect-error ctx is never stored: onUnsubscribe does not get it
  onUnsubscribe: ({ ctx }) => void ctx,
});

base.routes.onMessage.hooks({
  // @ts-expect-error unknown hook
  onPublish: () => undefined,
});

// @ts-expect-error reasons are a closed set
const badReason: UnsubscribeReason = 'left';
void badReason;

// ---- connection hooks: the router's ctx and key ----
base.hooks({
  onConnect: ({ ctx, key, connectionId }) => {
    const user: string = ctx.userId;
    const typedKey: `user:${string}` | undefined = key;
    void [user, typedKey, connectionId];
  },
  onDisconnect: ({ key, reason, connectedAt }) => {
    const typedKey: `user:${string}` | undefined = key;
    const why: DisconnectReason = reason;
    const at: number = connectedAt;
    void [typedKey, why, at];
    // @ts-expect-error a connection never ends by a client's stop of one subscription
    void (reason === 'stop');
  },
});

base.hooks({
  // @ts-expect-error the key type is the router's connectionKey's
  onConnect: ({ key }) => void (key === 'team:1'),
});
