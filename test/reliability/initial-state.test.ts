import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import { initTRPC, tracked } from '@trpc/server';
import fc from 'fast-check';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import * as z from 'zod/mini';
import { fcParams, quietLogger } from './support/env';
import { resubscribeLink } from '../../client';
import { dynamodb, initSubscriptions } from '../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../lambda/local';
import { waitFor } from '../lambda/support/harness';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { seeded } from '../support/seeded';

/**
 * Initial state on a tracked route with a history, as a property: the app's state holds the
 * room's events up to some point (the latest ones possibly not saved yet), more events are
 * published while `initial` runs and after the subscription started, and sockets drop or get
 * reconnect notifications; with real @trpc/client clients through the local gateway in unordered
 * mode on DynamoDB Local. Each client must receive every event of its room (and every unfiltered
 * one) exactly once, in publish order: the state, then what it missed, then live.
 */
const RUNS = 40;
type Room = 'a' | 'b' | null;
const ROOMS: readonly Room[] = ['a', 'b', null];

interface Event { readonly n: number; readonly room: string | null }

/** The app's own record of the events (what `initial` reads), with the ids `publish()` returned. */
const saved: Array<{ id: string; event: Event }> = [];
/** Runs inside `initial` after it read the state: the publishes a run makes meanwhile. */
let duringInitial: (() => Promise<void>) | undefined;

const subscriptions = initSubscriptions();
const t = initTRPC.create({ transformer: superjson });
const router = t.router({
  onEvent: t.procedure
    .input(z.object({ room: z.string(), lastEventId: z.nullish(z.string()) }))
    .subscription(subscriptions.trackedResolver<Event>().with({
      initial: async ({ input }) => {
        const state = saved.filter((row) => row.event.room === null || row.event.room === input.room).map((row) => tracked(row.id, row.event));
        const hook = duringInitial;
        duringInitial = undefined;
        await hook?.();
        return state;
      },
    })),
});
const app = () => subscriptions.router({ router })
  .routes.onEvent.filter({ name: 'byRoom', input: { room: true } })
  .routes.onEvent.history({ retentionSeconds: 600 });

const roomArb = fc.constantFrom(...ROOMS);
const scenarioArb = fc.record({
  /** Published before the client subscribes. */
  before: fc.array(roomArb, { maxLength: 5 }),
  /** How many of the last `before` events the app has not saved yet when `initial` reads. */
  unsaved: fc.nat({ max: 2 }),
  /** Published while `initial` runs. */
  during: fc.array(roomArb, { maxLength: 3 }),
  after: fc.array(fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('publish' as const), room: roomArb }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('notify' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 30 }) }) },
  ), { maxLength: 8 }),
  delaySeed: fc.integer({ min: 1, max: 2_000_000 }),
});

let table: TestTable;
let gateway: LocalGateway;
let management: ApiGatewayManagementApiClient;
let random: () => number = Math.random;

beforeAll(async () => {
  table = await createTestTable('initial-state');
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const handlers = app().store({ store });
  const logger = quietLogger();
  gateway = await startLocalGateway({
    handlers: { connect: handlers.connect({ logger }), handler: handlers.handler({ logger }), disconnect: handlers.disconnect({ logger }) },
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

test(`a fresh subscriber gets its room's events exactly once, in order: state, missed, live (${RUNS} runs)`, async () => {
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const publisher = app().store({ store }).publisher({ endpoint: gateway.endpoint, logger: quietLogger() });
  await fc.assert(fc.asyncProperty(scenarioArb, async ({ before, unsaved, during, after, delaySeed }) => {
    random = seeded(delaySeed);
    const run = ++runIndex;
    const roomOf = (room: Room) => (room === null ? null : `run${run}-${room}`);
    const mine = roomOf('a')!;
    const expected: number[] = [];
    let n = 0;
    const publish = async (room: Room) => {
      const event = { n: n++, room: roomOf(room) };
      const { eventId } = await publisher.routes.onEvent.publish(event.room === null
        ? { data: event }
        : { data: event, filter: { name: 'byRoom', input: { room: event.room } } });
      if (event.room === null || event.room === mine) expected.push(event.n);
      return { id: eventId!, event };
    };
    // The app saves each event once `publish()` returned its id...
    const publishAndSave = async (room: Room) => void saved.push(await publish(room));
    saved.length = 0;
    const published: Array<{ id: string; event: Event }> = [];
    for (const room of before) published.push(await publish(room));
    // ...but when the first `initial` reads, the last `unsaved` ones are not saved yet (at least one
    // is: an empty state goes live after the latest event, and one not saved by then is the
    // documented gap, docs/runtime.md "Initial state"); they are saved while it runs.
    const savedFirst = Math.max(Math.min(1, published.length), published.length - unsaved);
    saved.push(...published.slice(0, savedFirst));
    duringInitial = async () => {
      saved.push(...published.slice(savedFirst));
      for (const room of during) await publishAndSave(room);
    };
    const wsClient = createWSClient({ url: gateway.url, WebSocket: WebSocket as never, retryDelayMs: () => 10 });
    const client = createTRPCClient<typeof router>({ links: [resubscribeLink(), wsLink({ client: wsClient, transformer: superjson })] });
    const inbox: number[] = [];
    const errors: unknown[] = [];
    let started = false;
    let starts = 0;
    const subscription = client.onEvent.subscribe({ room: mine }, {
      onData: (event) => void inbox.push(event.data.n),
      onStarted: () => {
        started = true;
        starts++;
      },
      onError: (error) => void errors.push(error),
    });
    try {
      await waitFor(() => started, 10_000, 'started');
      for (const command of after) {
        const open = gateway.connections();
        switch (command.kind) {
          case 'publish':
            await publishAndSave(command.room);
            break;
          case 'drop': {
            if (open.length === 0) break;
            const startsBefore = starts;
            // The newest socket: after a reconnect notification the client moves to it.
            await management.send(new DeleteConnectionCommand({ ConnectionId: open[open.length - 1] })).catch(() => undefined);
            // With no event received yet the client resubscribes without a lastEventId: a fresh
            // subscribe, whose initial state cannot hold an event the app has not saved yet (the
            // documented gap, docs/runtime.md "Initial state"), so it starts again before the next
            // publish. With an id it resumes, and what is published meanwhile is replayed.
            // (A socket the client was leaving anyway is not followed by a start: hence the catch.)
            if (inbox.length === 0) await waitFor(() => starts > startsBefore, 3_000, 'started again').catch(() => undefined);
            break;
          }
          case 'notify':
            if (open.length > 0) await publisher.connections.reconnect({ connectionId: open[0] });
            break;
          case 'pause':
            await new Promise((resolve) => setTimeout(resolve, command.ms));
            break;
        }
      }
      await waitFor(() => inbox.length >= expected.length, 10_000, 'every expected event').catch(() => undefined);
      // Time for a duplicate or a late event to show.
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect({ inbox, errors }).toEqual({ inbox: expected, errors: [] });
    } finally {
      duringInitial = undefined;
      subscription.unsubscribe();
      void wsClient.close();
      await waitFor(() => gateway.connections().length === 0, 5000, 'client closed').catch(() => undefined);
    }
  }), fcParams(RUNS));
}, 300_000);
