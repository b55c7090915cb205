import { TRPCError } from '@trpc/server';
import { memory, type MemoryStore } from '../../../lambda';
import { startLocalGateway, type LocalGateway, type LocalLogger } from '../../../lambda/local';
import { appSubscriptions } from '../../fixtures/router';
import { connectClient, rawSocket, waitFor } from '../support/harness';

/**
 * `dev` prints what the connections do (the local gateway's `logActivity`): subscriptions started,
 * stopped and refused, queries and mutations, and each publish with who received it and who was
 * gone, read from the frames, with the real client and the real publisher.
 */
let gateway: LocalGateway | undefined;
const closers: Array<() => void> = [];
afterEach(async () => {
  closers.splice(0).forEach((close) => close());
  await gateway?.close();
  gateway = undefined;
});

interface Started {
  readonly lines: string[];
  readonly store: MemoryStore;
  readonly publisher: ReturnType<typeof appSubscriptions.publisher>;
}

/**
 * The test app on a gateway that logs its activity. `keepRowsOnDisconnect`: `$disconnect` leaves
 * the rows, as when API Gateway never delivers it, so a publish meets the gone connection.
 */
async function start(options: { keepRowsOnDisconnect?: boolean; logActivity?: boolean } = {}): Promise<Started> {
  const lines: string[] = [];
  const logger: LocalLogger = { debug: () => undefined, info: (message) => lines.push(message), warn: () => undefined, error: () => undefined };
  const store = memory();
  gateway = await startLocalGateway({
    handlers: {
      connect: appSubscriptions.connect({ store }),
      handler: appSubscriptions.handler({ store, maxSubscriptionsPerConnection: 2 }),
      disconnect: options.keepRowsOnDisconnect ? async () => ({ statusCode: 200 }) : appSubscriptions.disconnect({ store }),
    },
    logger,
    logActivity: options.logActivity ?? true,
  });
  return { lines, store, publisher: appSubscriptions.publisher({ store, endpoint: gateway.endpoint }) };
}

function connect(userId: string) {
  const connection = connectClient(gateway!.url, { userId });
  closers.push(connection.close);
  return connection.client;
}

/** Subscribes to `onMessage` in `room`; resolves once started. */
function subscribe(client: ReturnType<typeof connect>, room: string, onData: (text: string) => void = () => undefined) {
  return new Promise<{ unsubscribe(): void }>((resolve, reject) => {
    const subscription = client.onMessage.subscribe({ room }, {
      onStarted: () => resolve(subscription),
      onData: (message) => onData(message.text),
      onError: reject,
    });
  });
}

async function lineMatching(lines: string[], pattern: RegExp): Promise<string> {
  await waitFor(() => lines.some((line) => pattern.test(line)), 10_000, `a line matching ${pattern}\n${lines.join('\n')}`);
  return lines.find((line) => pattern.test(line))!;
}

test('subscriptions, queries, mutations and stops are logged with their route and outcome', async () => {
  const { lines, publisher } = await start();
  const alice = connect('alice');
  const subscription = await subscribe(alice, 'lobby');
  const [aliceId] = gateway!.connections();

  expect(await lineMatching(lines, /subscription onMessage/)).toBe(`${aliceId} subscription onMessage #1 started {"room":"lobby"}`);

  await alice.whoami.query();
  expect(await lineMatching(lines, /query whoami/)).toMatch(new RegExp(`^${escape(aliceId)} query whoami ok \\(\\d+ ms\\)$`));

  await expect(alice.sendMessage.mutate({ room: 'lobby', text: '' })).rejects.toThrow();
  expect(await lineMatching(lines, /mutation sendMessage/)).toMatch(
    new RegExp(`^${escape(aliceId)} mutation sendMessage failed: BAD_REQUEST: text: Invalid input \\(too_small\\) \\(\\d+ ms\\)$`),
  );

  subscription.unsubscribe();
  expect(await lineMatching(lines, /#1 stopped/)).toBe(`${aliceId} subscription onMessage #1 stopped by the client`);

  // A stop by the server (publisher.routes.x.stop), and one with an error.
  await subscribe(alice, 'garden');
  await publisher.routes.onMessage.stop({ filter: { name: 'byRoom', input: { room: 'garden' } } });
  expect(await lineMatching(lines, /stopped by the server/)).toMatch(/^\S+ subscription onMessage #\d+ stopped by the server$/);
  await subscribe(alice, 'vip');
  await publisher.routes.onMessage.stop({ filter: { name: 'byRoom', input: { room: 'vip' } }, error: new TRPCError({ code: 'FORBIDDEN', message: 'You left vip' }) });
  expect(await lineMatching(lines, /ended by the server/)).toMatch(/^\S+ subscription onMessage #\d+ ended by the server: FORBIDDEN: You left vip$/);

  await publisher.connections.reconnect({ all: true });
  expect(await lineMatching(lines, /reconnect/)).toBe(`${aliceId} asked to reconnect`);
});

test('a subscription over the per-connection cap is logged as refused, with the code and message', async () => {
  const { lines } = await start();
  const bob = connect('bob');
  await subscribe(bob, 'a');
  await subscribe(bob, 'b');
  await expect(subscribe(bob, 'c')).rejects.toThrow('At most 2 subscriptions per connection');
  expect(await lineMatching(lines, /refused/)).toMatch(/^\S+ subscription onMessage #3 refused: TOO_MANY_REQUESTS: At most 2 subscriptions per connection$/);
});

test('a publish is one line: the subscriptions it reached, and those whose connection was gone', async () => {
  const { lines, publisher } = await start({ keepRowsOnDisconnect: true });
  const received: string[] = [];
  await subscribe(connect('alice'), 'lobby', (text) => received.push(`alice:${text}`));
  await subscribe(connect('bob'), 'lobby', (text) => received.push(`bob:${text}`));
  // Carol subscribes, then her socket drops without a stop; her rows stay (no $disconnect
  // cleanup), as when API Gateway never delivers it.
  const carol = await rawSocket(gateway!.url);
  carol.socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'onMessage', input: { json: { room: 'lobby' } } } }));
  expect(JSON.parse((await carol.next())[0])).toMatchObject({ id: 1, result: { type: 'started' } });
  const carolId = gateway!.connections()[2];
  carol.socket.terminate();
  await waitFor(() => gateway!.connections().length === 2);

  const result = await publisher.routes.onMessage.publish({
    data: { text: 'hello', at: new Date(), from: 'system' },
    filter: { name: 'byRoom', input: { room: 'lobby' } },
  });

  expect(result).toMatchObject({ matched: 3, delivered: 2, gone: 1 });
  const line = await lineMatching(lines, /^publish /);
  expect(line).toMatch(/^publish onMessage: delivered to 2 \(\S+ #1, \S+ #1\), gone 1 \(\S+ #1\)$/);
  expect(line).toContain(`gone 1 (${carolId} #1)`);
  await waitFor(() => received.length === 2);
  // One line per publish, not one per delivery.
  expect(lines.filter((l) => l.startsWith('publish '))).toHaveLength(1);
});

test('two publishes of the same data are two lines', async () => {
  const { lines, publisher } = await start();
  await subscribe(connect('alice'), 'lobby');
  const args = { data: { text: 'same', at: new Date(0), from: 'system' }, filter: { name: 'byRoom', input: { room: 'lobby' } } } as const;
  await publisher.routes.onMessage.publish(args);
  await publisher.routes.onMessage.publish(args);
  await waitFor(() => lines.filter((line) => line.startsWith('publish ')).length === 2, 10_000, 'two publish lines');
});

test('flushActivity() writes a publish line at once, without waiting for more deliveries', async () => {
  const { lines, publisher } = await start();
  await subscribe(connect('alice'), 'lobby');
  const published = Date.now();
  await publisher.routes.onMessage.publish({ data: { text: 'x', at: new Date(), from: 'system' } });
  const publishLines = () => lines.filter((line) => line.startsWith('publish '));
  // Inside the line's quiet period (100 ms from the post) it is still being collected; a loaded
  // machine may take longer than that for the publish itself, and then there is nothing to show.
  const collecting = Date.now() - published < 90;
  if (collecting) expect(publishLines()).toEqual([]);

  gateway!.flushActivity();

  expect(publishLines()).toEqual([expect.stringMatching(/^publish onMessage: delivered to 1 /)]);
});

test('without logActivity nothing of it is logged', async () => {
  const { lines, publisher } = await start({ logActivity: false });
  await subscribe(connect('alice'), 'lobby');
  await publisher.routes.onMessage.publish({ data: { text: 'x', at: new Date(), from: 'system' } });
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(lines.filter((line) => !line.endsWith(' connected'))).toEqual([]);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
