/**
 * Compile-time tests of the runtime's types. Checked by `tsc -p tsconfig.dev.json` (the first
 * step of `npm test`): every `@ts-expect-error` line must be an error, or compilation fails.
 * Nothing here runs.
 */
import { initTRPC } from '@trpc/server';
import { z } from 'zod';
import { initSubscriptions, memory, type PublishResult } from '../../lambda';

const subscriptions = initSubscriptions();
interface Ctx {
  readonly userId: string;
  readonly orgId: string;
  readonly age: number;
  readonly profile: { readonly name: string };
}
const t = initTRPC.context<Ctx>().create();
const withRole = t.procedure.use(({ next }) => next({ ctx: { role: 'admin' as 'admin' | 'user' } }));

const router = t.router({
  onMessage: t.procedure.input(z.object({ room: z.string(), level: z.number(), tags: z.array(z.string()) }))
    .subscription(subscriptions.resolver<{ readonly text: string }>()),
  admin: t.router({
    onAudit: withRole.subscription(subscriptions.resolver<number>()),
  }),
  onEvent: t.procedure.subscription(subscriptions.trackedResolver<string>()),
  query: t.procedure.query(() => 1),
  mutate: t.procedure.mutation(() => 1),
  // A subscription not made with this library cannot be published to.
  native: t.procedure.subscription(async function* () {
    yield 1;
  }),
});

const base = subscriptions.router({ router, createContext: () => ({ userId: 'u', orgId: 'o', age: 1, profile: { name: 'n' } }) });

// @ts-expect-error createContext is required when ctx has required fields
subscriptions.router({ router });
// @ts-expect-error createContext must return the router's ctx
subscriptions.router({ router, createContext: () => ({ userId: 'u' }) });

// ---- filter declarations ----
const app = base
  .store({ store: memory() })
  .routes.onMessage.filter({ name: 'byRoom', input: { room: true } })
  .routes.onMessage.filter({ name: 'byUserAndRoom', ctx: { userId: true }, input: { room: true, level: true } })
  .routes.onMessage.filter({ name: 'byOrgUser', ctx: { orgId: true, userId: true } })
  .routes.admin.onAudit.filter({ name: 'byRole', ctx: { role: true, userId: true } }) // middleware ctx
  .routes.onEvent.filter({ name: 'byUser', ctx: { userId: true } });

// @ts-expect-error unknown ctx field
base.routes.onMessage.filter({ name: 'x', ctx: { nope: true } });
// @ts-expect-error unknown ctx field next to a known one
base.routes.onMessage.filter({ name: 'x', ctx: { userId: true, nope: true } });
// @ts-expect-error unknown input field
base.routes.onMessage.filter({ name: 'x', input: { nope: true } });
// @ts-expect-error non-scalar ctx field
base.routes.onMessage.filter({ name: 'x', ctx: { profile: true } });
// @ts-expect-error non-scalar input field
base.routes.onMessage.filter({ name: 'x', input: { tags: true } });
// @ts-expect-error field selector must be `true`
base.routes.onMessage.filter({ name: 'x', input: { room: false } });
// @ts-expect-error ctx fields added by a middleware of another procedure do not exist here
base.routes.onMessage.filter({ name: 'x', ctx: { role: true } });
// @ts-expect-error no such route
void base.routes.chat;
// @ts-expect-error queries are not under routes
base.routes.query.filter({ name: 'x', ctx: { userId: true } });
// @ts-expect-error mutations are not under routes
void base.routes.mutate;
// @ts-expect-error subscriptions not made with subscriptions.resolver() are not under routes
void base.routes.native;
// @ts-expect-error duplicate filter name on the same route
app.routes.onMessage.filter({ name: 'byRoom', input: { room: true } });
// the same name on another route is fine
app.routes.admin.onAudit.filter({ name: 'byRoom', ctx: { userId: true } });

// ---- publish ----
const publisher = app.publisher({ endpoint: 'http://127.0.0.1:1/local' });
async function publishes(): Promise<PublishResult[]> {
  return Promise.all([
    publisher.routes.onMessage.publish({ data: { text: 'hi' } }),
    publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byRoom', input: { room: 'a' } } }),
    publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byRoom' } }),
    publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byUserAndRoom', ctx: { userId: 'u1' } } }),
    publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byUserAndRoom', ctx: { userId: 'u1' }, input: { room: 'a' } } }),
    publisher.routes.onMessage.publish({
      data: { text: 'hi' }, filter: { name: 'byUserAndRoom', ctx: { userId: 'u1' }, input: { room: 'a', level: 2 } }, excludeConnectionId: 'c1',
    }),
    publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byOrgUser', ctx: { orgId: 'o', userId: 'u' } } }),
    publisher.routes.admin.onAudit.publish({ data: 1, filter: { name: 'byRole', ctx: { role: 'admin' } } }),
    publisher.routes.onEvent.publish({ data: 'e', id: 'e1', filter: { name: 'byUser', ctx: { userId: 'u' } } }),
  ]);
}
void publishes;

async function wrongPublishes() {
  // @ts-expect-error data of the wrong type
  await publisher.routes.onMessage.publish({ data: { text: 1 } });
  // @ts-expect-error data is required
  await publisher.routes.onMessage.publish({ filter: { name: 'byRoom' } });
  // @ts-expect-error unknown filter name
  await publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'nope' } });
  // @ts-expect-error a filter of another route
  await publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byRole' } });
  // @ts-expect-error value of the wrong type
  await publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byRoom', input: { room: 1 } } });
  // @ts-expect-error field not in the filter
  await publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byRoom', input: { level: 1 } } });
  // @ts-expect-error ctx given to a filter without ctx fields
  await publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byRoom', ctx: { userId: 'u' } } });
  // @ts-expect-error input without the ctx fields before it (not a prefix)
  await publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byUserAndRoom', input: { room: 'a' } } });
  // @ts-expect-error middleware ctx value of the wrong type
  await publisher.routes.admin.onAudit.publish({ data: 1, filter: { name: 'byRole', ctx: { role: 'root' } } });
  // @ts-expect-error a tracked route needs the event id
  await publisher.routes.onEvent.publish({ data: 'e' });
  // @ts-expect-error an untracked route takes no event id
  await publisher.routes.onMessage.publish({ data: { text: 'hi' }, id: 'e1' });
  // @ts-expect-error routes without filters take no filter
  await base.publisher().routes.onEvent.publish({ data: 'e', id: 'e1', filter: { name: 'byUser' } });
  // @ts-expect-error queries cannot be published to
  await publisher.routes.query.publish({ data: 1 });
  // @ts-expect-error nor can native subscriptions
  await publisher.routes.native.publish({ data: 1 });
}
void wrongPublishes;

// Queued publish: the same arguments as publish().
async function queuedPublishes(): Promise<void> {
  const { messageId }: { messageId: string } = await publisher.routes.onMessage.enqueue({ data: { text: 'hi' }, filter: { name: 'byRoom', input: { room: 'a' } } });
  void messageId;
  // @ts-expect-error data of the wrong type
  await publisher.routes.onMessage.enqueue({ data: { text: 1 } });
  // @ts-expect-error a tracked route needs the event id
  await publisher.routes.onEvent.enqueue({ data: 'e' });
}
void queuedPublishes;

// Event-fed publishing: the mapping is typed against the router and its filters.
interface OrderPlaced { readonly orderId: string; readonly room: string }
export const worker = app.worker<{ readonly 'id': string; readonly 'detail-type': 'OrderPlaced'; readonly 'source': string; readonly 'detail': OrderPlaced }>({
  events: (event, routes) => {
    const detail: OrderPlaced = event.detail;
    return [
      routes.onMessage.publish({ data: { text: detail.orderId }, filter: { name: 'byRoom', input: { room: detail.room } } }),
      routes.onEvent.publish({ data: detail.orderId, id: event.id }),
    ];
  },
});
app.worker({
  events: (event, routes) => {
    // @ts-expect-error the detail is unknown until the event type is given
    const room: string = event.detail.room;
    void room;
    // @ts-expect-error data of the wrong type
    routes.onMessage.publish({ data: { text: 1 } });
    // @ts-expect-error unknown filter name
    routes.onMessage.publish({ data: { text: 'x' }, filter: { name: 'nope' } });
    // @ts-expect-error a tracked route needs the event id
    routes.onEvent.publish({ data: 'e' });
    // @ts-expect-error queries cannot be published to
    routes.query.publish({ data: 1 });
    return undefined;
  },
});
app.worker({
  // @ts-expect-error a mapping returns publishes made by routes, not data
  events: () => ({ text: 'x' }),
});

// History: only on tracked routes; its publisher assigns ids, so `publish()` takes none.
const withHistory = base.routes.onEvent.history({ retentionSeconds: 120 });
const historyPublisher = withHistory.publisher();
void historyPublisher.routes.onEvent.publish({ data: 'x' });
// @ts-expect-error a route with a history assigns event ids: `id` is refused
void historyPublisher.routes.onEvent.publish({ data: 'x', id: 'e1' });
// Without a history, a tracked route still needs its id.
// @ts-expect-error `id` is required on a tracked route without history
void base.publisher().routes.onEvent.publish({ data: 'x' });
// @ts-expect-error history() needs a tracked resolver
base.routes.onMessage.history({ retentionSeconds: 120 });
// history() keeps the route's filters usable.
void base.routes.onMessage.filter({ name: 'byRoom', input: { room: true } }).routes.onEvent.history().publisher()
  .routes.onMessage.publish({ data: { text: 'x' }, filter: { name: 'byRoom', input: { room: 'r' } } });
// Queued publishes on a route with a history: the history assigns the id, as for publish().
void historyPublisher.routes.onEvent.enqueue({ data: 'x' }).then(({ messageId, eventId }: { messageId: string; eventId?: string }) => [messageId, eventId]);
// @ts-expect-error a route with a history assigns event ids: `id` is refused by enqueue() too
void historyPublisher.routes.onEvent.enqueue({ data: 'x', id: 'e1' });
// Event mappings publish to a route with a history without an id, as publish() does.
withHistory.worker({
  events: (_event, routes) => {
    // @ts-expect-error a route with a history assigns event ids: `id` is refused in a mapping too
    void routes.onEvent.publish({ data: 'e', id: 'e1' });
    return routes.onEvent.publish({ data: 'e' });
  },
});
