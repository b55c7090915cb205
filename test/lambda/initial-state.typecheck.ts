/**
 * Compile-time tests of a route's initial state (`resolver<T>().with({ initial })`): typed by the
 * route's data, the procedure's final ctx and parsed input. Checked by `tsc -p tsconfig.dev.json`:
 * every `@ts-expect-error` line must be an error. Nothing here runs.
 */
import { initTRPC, tracked } from '@trpc/server';
import { z } from 'zod';
import { initSubscriptions, memory } from '../../lambda';

const subscriptions = initSubscriptions();
interface Ctx { readonly userId: string }
interface Message { readonly id: string; readonly text: string }
const t = initTRPC.context<Ctx>().create();
const withRole = t.procedure.use(({ next }) => next({ ctx: { role: 'admin' as 'admin' | 'user' } }));
const roomInput = z.object({ room: z.string() });
declare function recent(room: string, userId: string): Promise<Message[]>;

const router = t.router({
  // ctx and input are the procedure's: the input parser's output, the ctx after middlewares.
  onMessage: t.procedure.input(roomInput).subscription(subscriptions.resolver<Message>().with({
    initial: ({ ctx, input }) => recent(input.room, ctx.userId),
  })),
  onAudit: withRole.subscription(subscriptions.resolver<number>().with({
    initial: ({ ctx }) => (ctx.role === 'admin' ? [1, 2] : []),
  })),
  // Tracked routes return tracked(id, data) items, as a tRPC generator yields them.
  onEvent: t.procedure.input(roomInput).subscription(subscriptions.trackedResolver<Message>().with({
    initial: async ({ input }) => (await recent(input.room, 'u')).map((message) => tracked(message.id, message)),
  })),
  // No options: the resolver is used as before.
  plain: t.procedure.subscription(subscriptions.resolver<string>()),
});

// The route's types still reach filters and the publisher.
const app = subscriptions.router({ router, createContext: () => ({ userId: 'u' }) })
  .store({ store: memory() })
  .routes.onMessage.filter({ name: 'byRoom', input: { room: true } })
  .routes.onAudit.filter({ name: 'byRole', ctx: { role: true } })
  .routes.onEvent.filter({ name: 'byRoom', input: { room: true } })
  .routes.onEvent.history();
const publisher = app.publisher({ endpoint: 'http://127.0.0.1:1/local' });
void publisher.routes.onMessage.publish({ data: { id: '1', text: 'hi' }, filter: { name: 'byRoom', input: { room: 'r' } } });
void publisher.routes.onEvent.publish({ data: { id: '1', text: 'hi' } });

t.router({
  // @ts-expect-error an item that is not the route's data
  a: t.procedure.input(roomInput).subscription(subscriptions.resolver<Message>().with({ initial: () => [{ text: 'no id' }] })),
  // @ts-expect-error a single item instead of an array
  b: t.procedure.input(roomInput).subscription(subscriptions.resolver<Message>().with({ initial: () => ({ id: '1', text: 'x' }) })),
  // @ts-expect-error untracked data on a tracked route
  c: t.procedure.input(roomInput).subscription(subscriptions.trackedResolver<Message>().with({ initial: () => [{ id: '1', text: 'x' }] })),
  // @ts-expect-error tracked items on an untracked route
  d: t.procedure.input(roomInput).subscription(subscriptions.resolver<Message>().with({ initial: () => [tracked('1', { id: '1', text: 'x' })] })),
  e: t.procedure.input(roomInput).subscription(subscriptions.resolver<Message>().with({
    // @ts-expect-error no such input field
    initial: ({ input }) => recent(input.nope, 'u'),
  })),
  f: t.procedure.input(roomInput).subscription(subscriptions.resolver<Message>().with({
    // @ts-expect-error no such ctx field (role comes from another procedure's middleware)
    initial: ({ ctx }) => recent('r', ctx.role),
  })),
  // @ts-expect-error not a function
  g: t.procedure.subscription(subscriptions.resolver<Message>().with({ initial: [] })),
  // @ts-expect-error unknown option
  h: t.procedure.subscription(subscriptions.resolver<Message>().with({ initials: () => [] })),
});
