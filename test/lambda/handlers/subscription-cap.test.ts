import { TRPCClientError } from '@trpc/client';
import { memory, type SubscriptionStore } from '../../../lambda';
import { appSubscriptions } from '../../fixtures/router';
import { connectClient, decodeServerFrame, rawSocket, startExampleServer, type ExampleServer } from '../support/harness';
import { dynamodbFixture, memoryFixture, type StoreFixture } from '../support/store-fixtures';

/** `maxSubscriptionsPerConnection` through the real handlers, a real WebSocket and the real client. */
describe.each([
  ['memory', memoryFixture],
  ['dynamodb', dynamodbFixture()],
] as [string, StoreFixture][])('maxSubscriptionsPerConnection over %s', (_name, fixture) => {
  let server: ExampleServer;
  let store: SubscriptionStore;
  const closers: Array<() => void> = [];

  beforeEach(async () => {
    store = await fixture.create();
    server = await startExampleServer({ store, handler: { maxSubscriptionsPerConnection: 2 } });
  });
  afterEach(async () => {
    closers.splice(0).forEach((close) => close());
    await server.close();
  });

  const subscribe = (id: number, room: string) =>
    ({ id, method: 'subscription', params: { path: 'onMessage', input: { json: { room } } } });

  test('a subscription beyond the cap gets a TOO_MANY_REQUESTS error frame for its id; a stop frees a slot', async () => {
    const ws = await rawSocket(server.gateway.url);
    closers.push(() => ws.socket.close());
    ws.socket.send(JSON.stringify([subscribe(1, 'a'), subscribe(2, 'b')]));
    const started = (await ws.next(2)).map(decodeServerFrame);
    expect(started.map((frame) => [frame.id, frame.result?.type]).sort()).toEqual([[1, 'started'], [2, 'started']]);

    ws.socket.send(JSON.stringify(subscribe(3, 'c')));
    const [refused] = (await ws.next()).map(decodeServerFrame);
    expect(refused).toMatchObject({
      id: 3,
      error: { message: 'At most 2 subscriptions per connection', data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429 } },
    });

    ws.socket.send(JSON.stringify({ id: 1, method: 'subscription.stop' }));
    expect(decodeServerFrame((await ws.next())[0])).toMatchObject({ id: 1, result: { type: 'stopped' } });
    ws.socket.send(JSON.stringify(subscribe(4, 'd')));
    expect(decodeServerFrame((await ws.next())[0])).toMatchObject({ id: 4, result: { type: 'started' } });
  });

  test('the real client sees the refusal as a TRPCClientError with code TOO_MANY_REQUESTS', async () => {
    const connection = connectClient(server.gateway.url, { userId: 'alice' });
    closers.push(connection.close);
    const start = (room: string) => new Promise<void>((resolve, reject) => {
      connection.client.onMessage.subscribe({ room }, { onStarted: () => resolve(), onError: reject });
    });
    await start('a');
    await start('b');
    const error = await start('c').then(() => undefined, (cause: unknown) => cause);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<any>).message).toBe('At most 2 subscriptions per connection');
    expect((error as TRPCClientError<any>).data?.code).toBe('TOO_MANY_REQUESTS');
  });
});

describe('maxSubscriptionsPerConnection option', () => {
  test.each([0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %p at handler creation, naming the option and value', (value) => {
    expect(() => appSubscriptions.handler({ store: memory(), maxSubscriptionsPerConnection: value })).toThrow(
      `\`maxSubscriptionsPerConnection\` must be a positive integer, got: ${value}`,
    );
  });

  test('defaults to 100', async () => {
    const server = await startExampleServer();
    try {
      const ws = await rawSocket(server.gateway.url);
      const batch = Array.from({ length: 100 }, (_, i) => subscribe(i + 1));
      ws.socket.send(JSON.stringify(batch));
      const frames = (await ws.next(100)).map(decodeServerFrame);
      expect(frames.filter((frame) => frame.result?.type === 'started')).toHaveLength(100);
      ws.socket.send(JSON.stringify(subscribe(101)));
      expect(decodeServerFrame((await ws.next())[0])).toMatchObject({
        id: 101,
        error: { message: 'At most 100 subscriptions per connection', data: { code: 'TOO_MANY_REQUESTS' } },
      });
      ws.socket.close();
    } finally {
      await server.close();
    }
  });

  function subscribe(id: number) {
    return { id, method: 'subscription', params: { path: 'onMessage', input: { json: { room: 'a' } } } };
  }
});
