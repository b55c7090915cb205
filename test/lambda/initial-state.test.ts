import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { createTRPCClient, createWSClient, TRPCClientError, wsLink } from '@trpc/client';
import { initTRPC, tracked, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import * as z from 'zod/mini';
import { resubscribeLink } from '../../client';
import { dynamodb, initSubscriptions, memory, type SubscriptionStore } from '../../lambda';
import { getRouteOptions } from '../../lambda/core/resolver';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../lambda/local';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { decodeServerFrame, rawSocket, waitFor } from './support/harness';

/**
 * A route's initial state (`resolver<T>().with({ initial })`) with real `@trpc/client` clients
 * through the local gateway: sent once, in order, before `started` and every live event; on a
 * tracked route with a history, the switch to live delivery after the state's last id is fenced
 * as a resume's (nothing published meanwhile lost or doubled), and a resume gets the replay only.
 */
interface Message { readonly n: number; readonly room: string }

/** The app's own store of messages (what `initial` reads), with the event id each publish returned. */
class MessageLog {
  readonly rows: Array<{ id: string; message: Message }> = [];
  /** Runs inside `initial`, after its read: lets a test publish while the state is being sent. */
  duringInitial?: () => Promise<void>;
  initialCalls = 0;
  recent(room: string): Array<{ id: string; message: Message }> {
    return this.rows.filter((row) => row.message.room === room).slice(-3);
  }
}

const subscriptions = initSubscriptions();
const t = initTRPC.context<{ user: string }>().create({ transformer: superjson });

function makeRouter(log: MessageLog) {
  const roomInput = z.object({ room: z.string(), lastEventId: z.nullish(z.string()) });
  return t.router({
    // Untracked: the room's recent messages, as the user sees them (ctx reaches `initial`).
    onMessage: t.procedure.input(roomInput).subscription(subscriptions.resolver<Message & { seenBy?: string }>().with({
      initial: async ({ ctx, input }) => {
        log.initialCalls++;
        const state = log.recent(input.room).map((row) => ({ ...row.message, seenBy: ctx.user }));
        await log.duringInitial?.();
        return state;
      },
    })),
    // Tracked with a history: items carry the history's event ids.
    // `newestFirst`: the wrong order, refused on a route with a history.
    onEvent: t.procedure.input(z.extend(roomInput, { newestFirst: z.optional(z.boolean()) }))
      .subscription(subscriptions.trackedResolver<Message>().with({
        initial: async ({ input }) => {
          log.initialCalls++;
          const rows = log.recent(input.room);
          const state = (input.newestFirst ? rows.reverse() : rows).map((row) => tracked(row.id, row.message));
          await log.duringInitial?.();
          return state;
        },
      })),
    refused: t.procedure.input(roomInput).subscription(subscriptions.resolver<Message>().with({
      initial: () => {
        throw new TRPCError({ code: 'FORBIDDEN', message: 'not a member of this room' });
      },
    })),
    broken: t.procedure.input(roomInput).subscription(subscriptions.trackedResolver<Message>().with({
      initial: () => [{ n: 1, room: 'x' }] as never,
    })),
  });
}
type AppRouter = ReturnType<typeof makeRouter>;

function makeApp(log: MessageLog, store: SubscriptionStore) {
  const router = makeRouter(log);
  return subscriptions.router({ router, createContext: ({ connectionParams }) => ({ user: connectionParams?.user ?? 'anonymous' }) })
    .store({ store })
    .routes.onMessage.filter({ name: 'byRoom', input: { room: true } })
    .routes.onEvent.filter({ name: 'byRoom', input: { room: true } })
    .routes.onEvent.history({ retentionSeconds: 600 });
}
type App = ReturnType<typeof makeApp>;

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('initial');
});
afterAll(() => table.client.destroy());

interface Server {
  readonly gateway: LocalGateway;
  readonly publisher: ReturnType<App['publisher']>;
  readonly log: MessageLog;
  close(): Promise<void>;
}
const open: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function start(store: SubscriptionStore): Promise<Server> {
  const log = new MessageLog();
  const app = makeApp(log, store);
  const gateway = await startLocalGateway({
    handlers: {
      connect: app.connect({ logger: silentLogger }),
      handler: app.handler({ logger: silentLogger }),
      disconnect: app.disconnect({ logger: silentLogger }),
    },
    logger: silentLogger,
  });
  open.push(() => gateway.close());
  return { gateway, publisher: app.publisher({ endpoint: gateway.endpoint, logger: silentLogger }), log, close: () => gateway.close() };
}

function client(gateway: LocalGateway, user = 'ann') {
  const wsClient = createWSClient({ url: gateway.url, WebSocket: WebSocket as never, retryDelayMs: () => 20, connectionParams: { user } });
  const trpc = createTRPCClient<AppRouter>({ links: [resubscribeLink(), wsLink({ client: wsClient, transformer: superjson })] });
  open.push(() => wsClient.close());
  return trpc;
}

let room = 0;
const freshRoom = () => `room-${process.pid}-${++room}-${Date.now()}`;

/** What a client saw, in order: data as `n`, and `started`. */
function recorder() {
  const seen: Array<number | 'started'> = [];
  const errors: unknown[] = [];
  return {
    seen,
    errors,
    data: () => seen.filter((entry): entry is number => entry !== 'started'),
    starts: () => seen.filter((entry) => entry === 'started').length,
    callbacks: {
      onData: (value: any) => void seen.push(value && typeof value === 'object' && 'data' in value && 'id' in value ? value.data.n : value.n),
      onStarted: () => void seen.push('started'),
      onError: (error: unknown) => void errors.push(error),
    },
  };
}

async function dropSocket(gateway: LocalGateway): Promise<void> {
  const management = new ApiGatewayManagementApiClient({ endpoint: gateway.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  try {
    for (const connectionId of gateway.connections()) await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  } finally {
    management.destroy();
  }
}

const stores: Array<[string, () => SubscriptionStore]> = [
  ['dynamodb', () => dynamodb({ tableName: table.tableName, dynamoDBClient: table.client })],
  ['memory', () => memory()],
];

describe.each(stores)('%s store', (_name, makeStore) => {
  test('untracked: the initial state (typed by ctx and input) arrives once, in order, before started and every live event', async () => {
    const { gateway, publisher, log } = await start(makeStore());
    const mine = freshRoom();
    log.rows.push(...[1, 2, 3, 4].map((n) => ({ id: String(n), message: { n, room: mine } })), { id: '9', message: { n: 9, room: 'elsewhere' } });
    // Published while the state is being read and sent: no history, so it is missed (the documented gap), never doubled.
    log.duringInitial = async () => void await publisher.routes.onMessage.publish({ data: { n: 50, room: mine }, filter: { name: 'byRoom', input: { room: mine } } });
    const received: unknown[] = [];
    const inbox = recorder();
    client(gateway, 'bob').onMessage.subscribe({ room: mine }, { ...inbox.callbacks, onData: (value: any) => { received.push(value); inbox.callbacks.onData(value); } });
    await waitFor(() => inbox.starts() === 1, 10_000, 'started');
    log.duringInitial = undefined;
    await publisher.routes.onMessage.publish({ data: { n: 5, room: mine }, filter: { name: 'byRoom', input: { room: mine } } });
    await waitFor(() => inbox.data().includes(5), 10_000, 'live event');
    expect(inbox.seen).toEqual([2, 3, 4, 'started', 5]);
    expect(received[0]).toEqual({ n: 2, room: mine, seenBy: 'bob' });
    expect(log.initialCalls).toBe(1);
  });

  test('tracked with a history: initial state, then what was published meanwhile (replayed), then started and live, each once; a resume replays only', async () => {
    const { gateway, publisher, log } = await start(makeStore());
    const mine = freshRoom();
    const filter = { name: 'byRoom' as const, input: { room: mine } };
    const publish = async (n: number) => {
      const { eventId } = await publisher.routes.onEvent.publish({ data: { n, room: mine }, filter });
      return eventId!;
    };
    for (let n = 1; n <= 4; n++) log.rows.push({ id: await publish(n), message: { n, room: mine } });
    // Published after `initial` read the app's state, before the subscription is stored: not in the state.
    let published = false;
    log.duringInitial = async () => {
      if (published) return;
      published = true;
      await publish(5);
      await publisher.routes.onEvent.publish({ data: { n: 99, room: 'elsewhere' }, filter: { name: 'byRoom', input: { room: 'elsewhere' } } });
      await publish(6);
    };
    const inbox = recorder();
    client(gateway).onEvent.subscribe({ room: mine }, inbox.callbacks);
    await waitFor(() => inbox.starts() === 1, 10_000, 'started');
    await publish(7);
    await waitFor(() => inbox.data().includes(7), 10_000, 'live event');
    expect(inbox.seen).toEqual([2, 3, 4, 5, 6, 'started', 7]);
    expect(log.initialCalls).toBe(1);
    // The client's lastEventId is now 7's: a dropped socket resumes from it, with no initial state again.
    await dropSocket(gateway);
    await publish(8);
    await waitFor(() => inbox.starts() === 2 && inbox.data().includes(8), 10_000, 'resumed');
    await publish(9);
    await waitFor(() => inbox.data().includes(9), 10_000, 'live after resume');
    expect(inbox.data()).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(log.initialCalls).toBe(1);
    expect(inbox.errors).toEqual([]);
  });

  test('tracked with a history: an initial state whose last id the history does not hold goes live after the latest event read before it ran', async () => {
    const { gateway, publisher, log } = await start(makeStore());
    const mine = freshRoom();
    const filter = { name: 'byRoom' as const, input: { room: mine } };
    await publisher.routes.onEvent.publish({ data: { n: 0, room: mine }, filter });
    // An old state (its id is long gone from the history).
    log.rows.push({ id: '0000000000000001', message: { n: 1, room: mine } });
    let published = false;
    log.duringInitial = async () => {
      if (published) return;
      published = true;
      await publisher.routes.onEvent.publish({ data: { n: 2, room: mine }, filter });
    };
    const inbox = recorder();
    client(gateway).onEvent.subscribe({ room: mine }, inbox.callbacks);
    await waitFor(() => inbox.starts() === 1, 10_000, 'started');
    await publisher.routes.onEvent.publish({ data: { n: 3, room: mine }, filter });
    await waitFor(() => inbox.data().includes(3), 10_000, 'live event');
    expect(inbox.seen).toEqual([1, 2, 'started', 3]);
  });

  test('errors: initial throwing a TRPCError reaches onError with its code; a bad item is an error; nothing is sent before', async () => {
    const server = await start(makeStore());
    const { gateway } = server;
    const trpc = client(gateway);
    const refused = recorder();
    trpc.refused.subscribe({ room: freshRoom() }, refused.callbacks);
    await waitFor(() => refused.errors.length === 1, 10_000, 'refusal');
    expect(refused.errors[0]).toBeInstanceOf(TRPCClientError);
    expect((refused.errors[0] as TRPCClientError<any>).data?.code).toBe('FORBIDDEN');
    expect((refused.errors[0] as TRPCClientError<any>).message).toBe('not a member of this room');
    const socket = await rawSocket(gateway.url);
    socket.socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'broken', input: superjson.serialize({ room: 'r' }) } }));
    const [frame] = (await socket.next(1)).map(decodeServerFrame);
    expect(frame.id).toBe(1);
    expect(frame.error.data.code).toBe('INTERNAL_SERVER_ERROR');
    // On a route with a history, items out of id order would make the replay send them again.
    const { log, publisher } = server;
    const unorderedRoom = freshRoom();
    for (const n of [1, 2]) {
      const { eventId } = await publisher.routes.onEvent.publish({ data: { n, room: unorderedRoom }, filter: { name: 'byRoom', input: { room: unorderedRoom } } });
      log.rows.push({ id: eventId!, message: { n, room: unorderedRoom } });
    }
    socket.socket.send(JSON.stringify({ id: 2, method: 'subscription', params: { path: 'onEvent', input: superjson.serialize({ room: unorderedRoom, newestFirst: true }) } }));
    const [unordered] = (await socket.next(1)).map(decodeServerFrame);
    expect([unordered.id, unordered.error.data.code]).toEqual([2, 'INTERNAL_SERVER_ERROR']);
    expect(socket.frames.filter((text) => text.includes('"data"') && text.includes('"result"'))).toEqual([]);
    expect(refused.seen).toEqual([]);
    socket.socket.close();
  });
});

test('tracked with an empty history: a marker event gives the fence an id; an event published meanwhile arrives once, the marker never', async () => {
  const empty = await createTestTable('initial-empty');
  try {
    const { gateway, publisher, log } = await start(dynamodb({ tableName: empty.tableName, dynamoDBClient: empty.client }));
    const mine = freshRoom();
    const filter = { name: 'byRoom' as const, input: { room: mine } };
    let published = false;
    log.duringInitial = async () => {
      if (published) return;
      published = true;
      await publisher.routes.onEvent.publish({ data: { n: 1, room: mine }, filter });
    };
    const inbox = recorder();
    const other = recorder();
    const trpc = client(gateway);
    trpc.onEvent.subscribe({ room: mine }, inbox.callbacks);
    await waitFor(() => inbox.starts() === 1, 10_000, 'started');
    // A second subscriber, of another room with no state: the marker and room 1's event are not its.
    log.duringInitial = undefined;
    trpc.onEvent.subscribe({ room: 'quiet' }, other.callbacks);
    await waitFor(() => other.starts() === 1, 10_000, 'second started');
    await publisher.routes.onEvent.publish({ data: { n: 2, room: mine }, filter });
    await waitFor(() => inbox.data().includes(2), 10_000, 'live event');
    expect(inbox.seen).toEqual([1, 'started', 2]);
    expect(other.seen).toEqual(['started']);
  } finally {
    empty.client.destroy();
  }
});

test('in a multi-region set-up, an empty history gets no marker (another Region may append that id): the subscription goes live unfenced', async () => {
  const empty = await createTestTable('initial-regions');
  try {
    const log = new MessageLog();
    const store = dynamodb({ tableName: empty.tableName, dynamoDBClient: empty.client });
    let app: App | undefined;
    const gateway = await startLocalGateway({
      handlers: {
        connect: (event, context) => app!.connect({ logger: silentLogger })(event, context),
        handler: (event, context) => app!.handler({ logger: silentLogger })(event, context),
        disconnect: (event, context) => app!.disconnect({ logger: silentLogger })(event, context),
      },
      logger: silentLogger,
    });
    open.push(() => gateway.close());
    app = makeApp(log, store).regions({ region: 'eu-west-1', endpoints: { 'eu-west-1': gateway.endpoint } }) as unknown as App;
    const mine = freshRoom();
    const inbox = recorder();
    client(gateway).onEvent.subscribe({ room: mine }, inbox.callbacks);
    await waitFor(() => inbox.starts() === 1, 10_000, 'started');
    expect(await store.readLastEvent!('onEvent')).toBeUndefined();
    await app.publisher({ logger: silentLogger }).routes.onEvent.publish({ data: { n: 1, room: mine }, filter: { name: 'byRoom', input: { room: mine } } });
    await waitFor(() => inbox.data().includes(1), 10_000, 'live event');
    expect(inbox.seen).toEqual(['started', 1]);
  } finally {
    empty.client.destroy();
  }
});

test('a server that iterates the resolver (createCaller, tRPC\'s own adapters) gets the initial state first, then waits', async () => {
  const log = new MessageLog();
  log.rows.push({ id: '0000000000000007', message: { n: 7, room: 'r' } }, { id: '0000000000000008', message: { n: 8, room: 'r' } });
  const router = makeRouter(log);
  const controller = new AbortController();
  const iterable = await t.createCallerFactory(router)({ user: 'ann' }, { signal: controller.signal }).onEvent({ room: 'r' });
  const iterator = iterable[Symbol.asyncIterator]();
  const first = await iterator.next();
  const second = await iterator.next();
  // tracked(id, data) envelopes, as a generator yields them (tRPC's adapters send them as { id, data }).
  expect([first.value, second.value].map((value) => (value as unknown as [string, Message]).slice(0, 2))).toEqual([['0000000000000007', { n: 7, room: 'r' }], ['0000000000000008', { n: 8, room: 'r' }]]);
  const third = iterator.next();
  controller.abort();
  await expect(third).resolves.toEqual({ done: true, value: undefined });
  expect(log.initialCalls).toBe(1);
});

test('.with() checks its options when the router is defined; the router keeps them where a role that runs no procedure reads them', () => {
  const routes = makeRouter(new MessageLog())._def.procedures as Record<string, { _def: { resolver?: unknown } }>;
  expect(typeof getRouteOptions(routes.onEvent._def.resolver)?.initial).toBe('function');
  expect(getRouteOptions(subscriptions.resolver<Message>())).toBeUndefined();
  expect(() => subscriptions.resolver<Message>().with(null as never)).toThrow(
    'subscriptions.resolver().with(): options must be an object like { initial: async ({ ctx, input }) => [...] }, got: null',
  );
  expect(() => subscriptions.resolver<Message>().with({ initial: [] as never })).toThrow(
    'subscriptions.resolver().with(): `initial` must be a function ({ ctx, input }) => items, got: object',
  );
});
