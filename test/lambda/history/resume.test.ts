import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import superjson from 'superjson';
import { dynamodb, memory, type SubscriptionStore } from '../../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../../lambda/local';
import { historySubscriptions, type HistoryTestEvent } from '../../fixtures/history-router';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { decodeServerFrame, rawSocket, recordingLogger, waitFor } from '../support/harness';

/**
 * Resuming a tracked subscription of a route with a history: replay after `lastEventId`, the
 * fenced switch to live delivery, expired and malformed ids; on memory() and on DynamoDB Local.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('history');
});
afterAll(() => table.client.destroy());

const stores: Array<[string, () => SubscriptionStore]> = [
  ['memory', () => memory()],
  ['dynamodb', () => dynamodb({ tableName: table.tableName, dynamoDBClient: table.client })],
];

interface Server {
  readonly gateway: LocalGateway;
  readonly app: ReturnType<typeof historySubscriptions>;
  readonly publisher: ReturnType<ReturnType<typeof historySubscriptions>['publisher']>;
}

let server: Server | undefined;
afterEach(async () => {
  await server?.gateway.close();
  server = undefined;
});

async function start(store: SubscriptionStore, retentionSeconds = 600): Promise<Server> {
  const app = historySubscriptions(retentionSeconds).store({ store });
  const logger = recordingLogger();
  const gateway = await startLocalGateway({
    handlers: { connect: app.connect({ logger }), handler: app.handler({ logger }), disconnect: app.disconnect({ logger }) },
    logger: silentLogger,
  });
  server = { gateway, app, publisher: app.publisher({ endpoint: gateway.endpoint }) };
  return server;
}

let room = 0;
/** A room name unique to the test, so tests sharing a table never see each other's events. */
const freshRoom = () => `room-${process.pid}-${++room}-${Date.now()}`;

function subscribeFrame(id: number, input: Record<string, unknown>): string {
  return JSON.stringify({ id, method: 'subscription', params: { path: 'onEvent', input: superjson.serialize(input) } });
}

describe.each(stores)('%s store', (_name, makeStore) => {
  test('publish gets dense, increasing event ids from the history; passing an id is refused', async () => {
    const { publisher } = await start(makeStore());
    const roomName = freshRoom();
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) {
      const result = await publisher.routes.onEvent.publish({ data: { n, room: roomName }, filter: { name: 'byRoom', input: { room: roomName } } });
      ids.push(result.eventId!);
    }
    expect(ids.every((id) => /^\d{16}$/.test(id))).toBe(true);
    for (let i = 1; i < ids.length; i++) expect(BigInt(ids[i])).toBe(BigInt(ids[i - 1]) + 1n);
    await expect(publisher.routes.onEvent.publish({ data: { n: 9, room: null }, id: 'x' } as never)).rejects.toThrow(
      'Publish to "onEvent": the route keeps a history, which assigns event ids; remove `id`',
    );
  });

  test('a resume replays the matching events after lastEventId in order, then started, then live events', async () => {
    const { gateway, publisher } = await start(makeStore());
    const mine = freshRoom();
    const other = freshRoom();
    const publish = async (n: number, to: string | null) => (await publisher.routes.onEvent.publish({
      data: { n, room: to }, ...(to === null ? {} : { filter: { name: 'byRoom' as const, input: { room: to } } }),
    })).eventId!;
    const first = await publish(0, mine);
    await publish(1, mine);
    await publish(2, other);
    await publish(3, null);
    await publish(4, mine);
    const socket = await rawSocket(gateway.url);
    socket.socket.send(subscribeFrame(1, { room: mine, lastEventId: first }));
    const replayed = (await socket.next(4)).map(decodeServerFrame);
    expect(replayed.map((frame) => frame.result.type === 'data' ? (frame.result.data.data as HistoryTestEvent).n : frame.result.type))
      .toEqual([1, 3, 4, 'started']);
    expect(replayed.slice(0, 3).map((frame) => frame.result.id)).toEqual(replayed.slice(0, 3).map((frame) => frame.result.data.id));
    await publish(5, other);
    await publish(6, mine);
    const [live] = (await socket.next(1)).map(decodeServerFrame);
    expect(live.result.data.data).toEqual({ n: 6, room: mine });
    socket.socket.close();
  });

  test('an event published while the replay runs is sent once, after the replayed ones (the fence moves the switch)', async () => {
    const store = makeStore();
    const mine = freshRoom();
    let injected = 0;
    let publishDuringReplay: (() => Promise<unknown>) | undefined;
    // A real store whose replay reads let a publish in after they end (twice): two fenced adds fail.
    const racing = new Proxy(store, {
      get(target, property) {
        if (property === 'readEvents') {
          return async function* (path: string, from: string) {
            yield* target.readEvents!(path, from);
            if (publishDuringReplay && injected < 2) {
              injected++;
              await publishDuringReplay();
            }
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const { gateway, publisher } = await start(racing);
    let n = 0;
    const publish = async () => (await publisher.routes.onEvent.publish({ data: { n: n++, room: mine }, filter: { name: 'byRoom', input: { room: mine } } })).eventId!;
    const from = await publish();
    await publish();
    publishDuringReplay = publish;
    const socket = await rawSocket(gateway.url);
    socket.socket.send(subscribeFrame(7, { room: mine, lastEventId: from }));
    await waitFor(() => socket.frames.some((frame) => frame.includes('"started"')), 5000, 'started');
    publishDuringReplay = undefined;
    await publish();
    await waitFor(() => socket.frames.length >= 5, 5000, 'every event');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ns = socket.frames.map(decodeServerFrame).filter((frame) => frame.result.type === 'data').map((frame) => frame.result.data.data.n);
    expect(injected).toBe(2);
    expect(ns).toEqual([1, 2, 3, 4]);
    socket.socket.close();
  });

  test('an event appended before the resume stored its subscription but queried after is not sent live again (liveAfter)', async () => {
    const store = makeStore();
    const { gateway, app, publisher } = await start(store);
    const mine = freshRoom();
    const filter = { name: 'byRoom' as const, input: { room: mine } };
    const from = (await publisher.routes.onEvent.publish({ data: { n: 0, room: mine }, filter })).eventId!;
    // A publisher whose subscriber query waits until the resume has stored its subscription.
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { openGate = resolve; });
    const gated = new Proxy(store, {
      get(target, property) {
        if (property === 'findSubscribers') {
          return async function* (query: Parameters<SubscriptionStore['findSubscribers']>[0]) {
            await gate;
            yield* target.findSubscribers(query);
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const slow = app.publisher({ endpoint: gateway.endpoint, store: gated }).routes.onEvent.publish({ data: { n: 1, room: mine }, filter });
    const socket = await rawSocket(gateway.url);
    // The history already holds event 1 when the resume reads it: the replay sends it.
    await waitFor(async () => {
      let count = 0;
      for await (const page of store.readEvents!('onEvent', from)) count += page.length;
      return count === 2;
    });
    socket.socket.send(subscribeFrame(1, { room: mine, lastEventId: from }));
    await waitFor(() => socket.frames.some((frame) => frame.includes('"started"')), 5000, 'started');
    openGate();
    expect(await slow).toMatchObject({ matched: 0, delivered: 0 });
    await publisher.routes.onEvent.publish({ data: { n: 2, room: mine }, filter });
    await waitFor(() => socket.frames.length >= 3, 5000, 'event 2');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const received = socket.frames.map(decodeServerFrame).map((frame) => (frame.result.type === 'data' ? frame.result.data.data.n : frame.result.type));
    expect(received).toEqual([1, 'started', 2]);
    socket.socket.close();
  });

  test('a lastEventId past the retention, or before the oldest kept, gets PRECONDITION_FAILED "History expired"; a malformed one BAD_REQUEST', async () => {
    const { gateway, publisher } = await start(makeStore(), 1);
    const mine = freshRoom();
    const { eventId } = await publisher.routes.onEvent.publish({ data: { n: 0, room: mine }, filter: { name: 'byRoom', input: { room: mine } } });
    const socket = await rawSocket(gateway.url);
    const expectExpired = async (id: number, lastEventId: string) => {
      socket.socket.send(subscribeFrame(id, { room: mine, lastEventId }));
      const [frame] = (await socket.next(1)).map(decodeServerFrame);
      expect(frame.id).toBe(id);
      expect(frame.error.data.code).toBe('PRECONDITION_FAILED');
      expect(frame.error.message).toBe(
        `History expired: "onEvent" no longer holds event "${lastEventId}" (events are kept 1 s); load the current state, then subscribe again without lastEventId`,
      );
    };
    await expectExpired(1, '0000000000000001');
    // expireAt is whole seconds: at most 2 s after the publish the event is past its retention.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await expectExpired(2, eventId!);
    socket.socket.send(subscribeFrame(3, { room: mine, lastEventId: 'e1' }));
    const [malformed] = (await socket.next(1)).map(decodeServerFrame);
    expect(malformed.error.data.code).toBe('BAD_REQUEST');
    expect(malformed.error.message).toContain('lastEventId must be an event id of "onEvent" (16 digits');
    expect(socket.frames.some((frame) => frame.includes('"started"'))).toBe(false);
    socket.socket.close();
  });

  test('a well-formed id the history never issued (after its latest event, or above 2^53) gets PRECONDITION_FAILED "Unknown event"', async () => {
    const { gateway, publisher } = await start(makeStore());
    const mine = freshRoom();
    const { eventId } = await publisher.routes.onEvent.publish({ data: { n: 0, room: mine }, filter: { name: 'byRoom', input: { room: mine } } });
    const ahead = (BigInt(eventId!) + 5n).toString().padStart(16, '0');
    const socket = await rawSocket(gateway.url);
    const answers: unknown[] = [];
    for (const [id, lastEventId] of [[1, ahead], [2, '9999999999999999'], [3, '9007199254740993']] as const) {
      socket.socket.send(subscribeFrame(id, { room: mine, lastEventId }));
      const [frame] = (await socket.next(1)).map(decodeServerFrame);
      answers.push([frame.id, frame.error.data.code, frame.error.message]);
    }
    const unknown = (lastEventId: string) => `Unknown event: "onEvent" never issued event "${lastEventId}" (its latest is "${eventId}"); ` +
      'load the current state, then subscribe again without lastEventId';
    expect(answers).toEqual([
      [1, 'PRECONDITION_FAILED', unknown(ahead)],
      [2, 'PRECONDITION_FAILED', unknown('9999999999999999')],
      [3, 'PRECONDITION_FAILED', unknown('9007199254740993')],
    ]);
    expect(socket.frames.some((frame) => frame.includes('"started"'))).toBe(false);
    socket.socket.close();
  });

  test('a subscription without lastEventId starts live (nothing replayed)', async () => {
    const { gateway, publisher } = await start(makeStore());
    const mine = freshRoom();
    await publisher.routes.onEvent.publish({ data: { n: 0, room: mine }, filter: { name: 'byRoom', input: { room: mine } } });
    const socket = await rawSocket(gateway.url);
    socket.socket.send(subscribeFrame(1, { room: mine, lastEventId: null }));
    expect(decodeServerFrame((await socket.next(1))[0]).result.type).toBe('started');
    await publisher.routes.onEvent.publish({ data: { n: 1, room: mine }, filter: { name: 'byRoom', input: { room: mine } } });
    expect(decodeServerFrame((await socket.next(1))[0]).result.data.data.n).toBe(1);
    socket.socket.close();
  });
});

test('a dropped socket: the tRPC client resubscribes with lastEventId and gets what it missed exactly once', async () => {
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const { gateway, publisher } = await start(store);
  const { createTRPCClient, createWSClient, wsLink } = await import('@trpc/client');
  const { WebSocket } = await import('ws');
  const wsClient = createWSClient({ url: gateway.url, WebSocket: WebSocket as never, retryDelayMs: () => 20 });
  const client = createTRPCClient<import('../../fixtures/history-router').HistoryRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
  const mine = freshRoom();
  const publish = async (n: number) => (await publisher.routes.onEvent.publish({ data: { n, room: mine }, filter: { name: 'byRoom', input: { room: mine } } })).eventId!;
  const start0 = await publish(-1);
  const inbox: number[] = [];
  let starts = 0;
  const subscription = client.onEvent.subscribe({ room: mine, lastEventId: start0 }, {
    onData: (event) => void inbox.push(event.data.n),
    onStarted: () => void starts++,
  });
  await waitFor(() => starts === 1);
  await publish(0);
  await waitFor(() => inbox.length === 1);
  const management = new ApiGatewayManagementApiClient({ endpoint: gateway.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  await management.send(new DeleteConnectionCommand({ ConnectionId: gateway.connections()[0] }));
  for (let n = 1; n <= 5; n++) await publish(n);
  await waitFor(() => starts === 2 && inbox.length === 6, 10_000, 'resumed');
  await publish(6);
  await waitFor(() => inbox.length === 7);
  expect(inbox).toEqual([0, 1, 2, 3, 4, 5, 6]);
  subscription.unsubscribe();
  void wsClient.close();
  management.destroy();
});
