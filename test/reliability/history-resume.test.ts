import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import fc from 'fast-check';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { fcParams, quietLogger } from './support/env';
import { dynamodb } from '../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../lambda/local';
import { historySubscriptions, type HistoryRouter } from '../fixtures/history-router';
import { waitFor } from '../lambda/support/harness';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { seeded } from '../support/seeded';

/**
 * Exactly-once resume, as a property: random interleavings of publishes (to a room or to
 * everyone), socket drops (DeleteConnection), reconnect notifications
 * (`publisher.connections.reconnect()`: the client moves to a new socket) and pauses, with real @trpc/client
 * clients on tracked subscriptions, through the local gateway in unordered mode on DynamoDB Local.
 * Every client must receive exactly the events published to it after its starting event, in
 * publish order: no gap, no duplicate.
 */
const RUNS = 200;
const ROOMS = ['a', 'b'] as const;

type Command =
  | { readonly kind: 'publish'; readonly room: (typeof ROOMS)[number] | null }
  | { readonly kind: 'drop'; readonly pick: number }
  | { readonly kind: 'notify'; readonly pick: number }
  | { readonly kind: 'pause'; readonly ms: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('publish' as const), room: fc.constantFrom(...ROOMS, null) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('notify' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 30 }) }) },
);
const scenarioArb = fc.record({
  /** Each client's room (null: every event of the route). */
  clients: fc.array(fc.constantFrom(...ROOMS, null), { minLength: 1, maxLength: 3 }),
  commands: fc.array(commandArb, { minLength: 1, maxLength: 10 }),
  delaySeed: fc.integer({ min: 1, max: 2_000_000 }),
});

let table: TestTable;
let gateway: LocalGateway;
let management: ApiGatewayManagementApiClient;
let random: () => number = Math.random;

beforeAll(async () => {
  table = await createTestTable('history-resume');
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const app = historySubscriptions(600).store({ store });
  const logger = quietLogger();
  gateway = await startLocalGateway({
    handlers: { connect: app.connect({ logger }), handler: app.handler({ logger }), disconnect: app.disconnect({ logger }) },
    // Each run reseeds the delays, so a failing run replays with its own.
    unordered: { maxDelayMs: 10, random: () => random() },
    logger: silentLogger,
  });
  management = new ApiGatewayManagementApiClient({
    endpoint: gateway.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1,
  });
});
afterAll(async () => {
  management?.destroy();
  await gateway?.close();
  table?.client.destroy();
});

let runIndex = 0;

test(`every client gets every event published to it exactly once, in order, across drops and reconnects (${RUNS} runs)`, async () => {
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const publisher = historySubscriptions(600).store({ store }).publisher({ endpoint: gateway.endpoint });
  await fc.assert(fc.asyncProperty(scenarioArb, async ({ clients, commands, delaySeed }) => {
    random = seeded(delaySeed);
    const run = ++runIndex;
    const roomOf = (room: string | null) => (room === null ? null : `run${run}-${room}`);
    // The starting point every client resumes from: the route's latest event.
    const start = (await publisher.routes.onEvent.publish({ data: { n: -1, room: null }, filter: { name: 'byRoom', input: { room: `run${run}-none` } } })).eventId!;
    const sessions = clients.map((room) => {
      const wsClient = createWSClient({ url: gateway.url, WebSocket: WebSocket as never, retryDelayMs: () => 10 });
      const client = createTRPCClient<HistoryRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
      const inbox: number[] = [];
      const errors: unknown[] = [];
      let started = false;
      const subscription = client.onEvent.subscribe(
        { ...(room === null ? {} : { room: roomOf(room)! }), lastEventId: start },
        { onData: (event) => void inbox.push(event.data.n), onStarted: () => void (started = true), onError: (error) => void errors.push(error) },
      );
      return { room, wsClient, subscription, inbox, errors, started: () => started, expected: [] as number[] };
    });
    try {
      await waitFor(() => sessions.every((session) => session.started()), 10_000, 'first started');
      let n = 0;
      for (const command of commands) {
        const open = gateway.connections();
        switch (command.kind) {
          case 'publish': {
            const data = { n: n++, room: roomOf(command.room) };
            await publisher.routes.onEvent.publish(command.room === null
              ? { data }
              : { data, filter: { name: 'byRoom', input: { room: roomOf(command.room)! } } });
            for (const session of sessions) {
              if (command.room === null || session.room === command.room) session.expected.push(data.n);
            }
            break;
          }
          case 'drop':
            if (open.length > 0) {
              await management.send(new DeleteConnectionCommand({ ConnectionId: open[command.pick % open.length] })).catch(() => undefined);
            }
            break;
          case 'notify':
            // The server-side reconnect notification: the client moves to a new connection.
            if (open.length > 0) await publisher.connections.reconnect({ connectionId: open[command.pick % open.length] });
            break;
          case 'pause':
            await new Promise((resolve) => setTimeout(resolve, command.ms));
            break;
        }
      }
      await waitFor(() => sessions.every((session) => session.inbox.length >= session.expected.length), 10_000, 'every expected event')
        .catch(() => undefined);
      // Time for a duplicate or a late event to show.
      await new Promise((resolve) => setTimeout(resolve, 30));
      for (const session of sessions) {
        expect({ room: session.room, inbox: session.inbox, errors: session.errors })
          .toEqual({ room: session.room, inbox: session.expected, errors: [] });
      }
    } finally {
      for (const session of sessions) {
        session.subscription.unsubscribe();
        void session.wsClient.close();
      }
      await waitFor(() => gateway.connections().length === 0, 5000, 'clients closed').catch(() => undefined);
    }
  }), fcParams(RUNS));
}, 300_000);
