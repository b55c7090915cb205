/**
 * The server-side capabilities the matrix runs in every mode. Each runs in one cell: acting from
 * Region `from` on a real client connected to Region `to` (one Region: both `local`). Adding a
 * capability: append it here, and add its row to the table in docs/runtime.md ("Modes and
 * capabilities"; test/matrix/docs.test.ts keeps the two in step).
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { TRPCError } from '@trpc/server';
import { hookCalls, matrixRoomState } from './app';
import { eventually, type MatrixClient, type Seen, type World } from './world';
import { LOCAL_AWS_SETTINGS } from '../../lambda/local';

/** Where a capability runs, and what it may use. */
export interface CellContext {
  readonly world: World;
  /** The Region that acts (its publisher, worker or rollover). */
  readonly from: string;
  /** The Region the clients connect to. */
  readonly to: string;
  /** Unique to this run: rooms and users are named after it. */
  readonly tag: string;
  /** A real client of `userId` (default: this run's user) on `region`, closed after the test. */
  connect(region: string, userId?: string): MatrixClient;
}

/** One capability of the matrix. */
export interface Capability {
  /** Its name, as the table in docs/runtime.md names its row. */
  readonly name: string;
  run(cell: CellContext): Promise<void>;
}

/** Time for a duplicate or a late frame to show. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

const byRoom = (room: string) => ({ filter: { name: 'byRoom', input: { room } } }) as const;

/** The client's one connection, once the table has it. */
async function onlyConnection(client: MatrixClient): Promise<string> {
  let ids: string[] = [];
  await eventually(async () => (ids = await client.connectionIds()).length === 1, `${client.userId}'s connection`);
  return ids[0];
}

/** Waits until the client has moved off `connectionId` (to one new connection) and checks its subscription lives on there. */
async function expectMovedAndLive(cell: CellContext, client: MatrixClient, connectionId: string, seen: Pick<Seen, 'started' | 'count'>) {
  await eventually(async () => {
    const ids = await client.connectionIds();
    return ids.length === 1 && ids[0] !== connectionId && !cell.world.gateway(cell.to).connections().includes(connectionId);
  }, `${client.userId} to move`);
  // The old connection closes once the new one answered `started`: the subscription is stored there.
  await cell.world.publish(cell.from, 'onMessage', cell.tag, 'after-move');
  await eventually(() => seen.count('after-move') === 1, 'the message after the move');
  await settle();
  expect([seen.count('after-move'), seen.started]).toEqual([1, 1]);
}

/** A client whose connection the server closed resubscribes (a second `started`) and gets the next message once. */
async function expectResubscribed(cell: CellContext, seen: Pick<Seen, 'started' | 'count'>) {
  await eventually(() => seen.started === 2, 'the client to resubscribe');
  await cell.world.publish(cell.from, 'onMessage', cell.tag, 'after-reconnect');
  await eventually(() => seen.count('after-reconnect') === 1, 'the message after the reconnect');
}

async function disconnect(cell: CellContext, target: (client: MatrixClient, connectionId: string) => { connectionId: string } | { key: `user:${string}` }) {
  const client = cell.connect(cell.to);
  const seen = await client.messages(cell.tag);
  const connectionId = await onlyConnection(client);

  const result = await cell.world.publisher(cell.from).connections.disconnect(target(client, connectionId) as never);

  expect(result).toEqual({ matched: 1, succeeded: 1, gone: 0, failed: 0, failures: [] });
  // Presence is right as soon as it resolves.
  expect(await client.connectionIds()).not.toContain(connectionId);
  await eventually(() => !cell.world.gateway(cell.to).connections().includes(connectionId), 'the connection to close');
  // Nothing told the stock client to stay away: it reconnects and resubscribes.
  await expectResubscribed(cell, seen);
}

async function reconnect(cell: CellContext, target: (client: MatrixClient, connectionId: string) => object) {
  const client = cell.connect(cell.to);
  const seen = await client.messages(cell.tag);
  const connectionId = await onlyConnection(client);
  const targets = target(client, connectionId);

  const result = await cell.world.publisher(cell.from).connections.reconnect(targets as never);

  if ('all' in targets) {
    expect(result).toMatchObject({ failed: 0, failures: [] });
    expect(result.succeeded).toBeGreaterThanOrEqual(1);
  } else {
    expect(result).toEqual({ matched: 1, succeeded: 1, gone: 0, failed: 0, failures: [] });
  }
  await expectMovedAndLive(cell, client, connectionId, seen);
}

export const CAPABILITIES: readonly Capability[] = [
  {
    name: 'publish',
    run: async (cell) => {
      const seen = await cell.connect(cell.to).messages(cell.tag);
      const elsewhere = await cell.connect(cell.to, `other-${cell.tag}`).messages(`other-${cell.tag}`);
      await cell.world.publish(cell.from, 'onMessage', cell.tag, 'm1');
      await eventually(() => seen.count('m1') === 1, 'm1');
      await settle();
      expect([seen.ids, elsewhere.ids]).toEqual([['m1'], []]);
    },
  },
  {
    name: 'enqueue + worker',
    run: async (cell) => {
      const seen = await cell.connect(cell.to).messages(cell.tag);
      await cell.world.enqueue(cell.from, 'onMessage', cell.tag, 'q1');
      await eventually(() => seen.count('q1') === 1, 'q1');
      await settle();
      expect(seen.ids).toEqual(['q1']);
    },
  },
  {
    name: 'stop',
    run: async (cell) => {
      const client = cell.connect(cell.to);
      const seen = await client.messages(cell.tag);
      const connectionId = await onlyConnection(client);

      const result = await cell.world.publisher(cell.from).routes.onMessage.stop(byRoom(cell.tag));

      expect(result).toEqual({ matched: 1, stopped: 1, gone: 0, failed: 0, failures: [] });
      await eventually(() => seen.stopped === 1, 'onStopped');
      // The connection stays, its subscription is gone.
      expect(await client.connectionIds()).toEqual([connectionId]);
      await cell.world.publish(cell.from, 'onMessage', cell.tag, 'after-stop');
      await settle();
      expect([seen.ids, seen.errors, seen.started]).toEqual([[], [], 1]);
    },
  },
  {
    name: 'stop with error',
    run: async (cell) => {
      const seen = await cell.connect(cell.to).messages(cell.tag);

      const result = await cell.world.publisher(cell.from).routes.onMessage.stop({
        ...byRoom(cell.tag), error: new TRPCError({ code: 'FORBIDDEN', message: `removed from ${cell.tag}` }),
      });

      expect(result).toEqual({ matched: 1, stopped: 1, gone: 0, failed: 0, failures: [] });
      await eventually(() => seen.errors.length === 1, 'onError');
      await settle();
      // An error the server sent: the client's link does not subscribe again.
      expect([seen.errors.length, seen.errors[0].data?.code, seen.errors[0].message, seen.started]).toEqual([1, 'FORBIDDEN', `removed from ${cell.tag}`, 1]);
    },
  },
  { name: 'disconnect by id', run: (cell) => disconnect(cell, (_client, connectionId) => ({ connectionId })) },
  { name: 'disconnect by key', run: (cell) => disconnect(cell, (client) => ({ key: `user:${client.userId}` })) },
  { name: 'reconnect by id', run: (cell) => reconnect(cell, (_client, connectionId) => ({ connectionId })) },
  { name: 'reconnect by key', run: (cell) => reconnect(cell, (client) => ({ key: `user:${client.userId}` })) },
  { name: 'reconnect all', run: (cell) => reconnect(cell, () => ({ all: true })) },
  {
    name: 'presence',
    run: async (cell) => {
      const key = `user:u-${cell.tag}` as const;
      const connections = cell.world.publisher(cell.from).connections;
      await expect(connections.isOnline(key)).resolves.toBe(false);
      const first = cell.connect(cell.to);
      await first.messages(cell.tag);
      expect([await connections.isOnline(key), await connections.count(key)]).toEqual([true, 1]);
      const second = cell.connect(cell.to);
      await second.messages(cell.tag);
      await expect(connections.count(key)).resolves.toBe(2);
      await first.close();
      await eventually(async () => (await connections.count(key)) === 1, 'one connection left');
      await second.close();
      await eventually(async () => !(await connections.isOnline(key)), 'offline');
      await expect(connections.count(key)).resolves.toBe(0);
    },
  },
  {
    name: 'room presence',
    run: async (cell) => {
      const room = cell.tag;
      const members = cell.world.publisher(cell.from).routes.roomMembers;
      const [ann, bob] = [`user:ann-${cell.tag}`, `user:bob-${cell.tag}`];
      const annView = await cell.connect(cell.to, `ann-${cell.tag}`).members(room);
      const bobClient = cell.connect(cell.to, `bob-${cell.tag}`);
      const bobView = await bobClient.members(room);
      // Bob's sync lists both; Ann gets Bob's join.
      expect(bobView.keys()).toEqual([ann, bob]);
      await eventually(() => annView.keys().length === 2, 'Ann to see Bob join');
      expect((await members.members({ input: { room } })).map((member) => [member.key, member.data])).toEqual([
        [ann, { userId: `ann-${cell.tag}` }], [bob, { userId: `bob-${cell.tag}` }],
      ]);
      await bobClient.close();
      await eventually(() => annView.keys().length === 1, 'Ann to see Bob leave');
      await expect(members.countMembers({ input: { room } })).resolves.toBe(1);
    },
  },
  {
    name: 'room presence after a lost $disconnect',
    run: async (cell) => {
      const room = cell.tag;
      const [ann, bob] = [`user:ann-${cell.tag}`, `user:bob-${cell.tag}`];
      const annView = await cell.connect(cell.to, `ann-${cell.tag}`).members(room);
      const bobClient = cell.connect(cell.to, `bob-${cell.tag}`);
      await bobClient.members(room);
      await bobClient.messages(room);
      await eventually(() => annView.keys().length === 2, 'Ann to see Bob join');
      // Bob's connection drops and its $disconnect is lost; his client comes back, then closes.
      const lost = await onlyConnection(bobClient);
      cell.world.lostDisconnects.add(lost);
      const management = new ApiGatewayManagementApiClient({ endpoint: cell.world.gateway(cell.to).endpoint, ...LOCAL_AWS_SETTINGS, maxAttempts: 1 });
      await management.send(new DeleteConnectionCommand({ ConnectionId: lost }));
      management.destroy();
      await eventually(async () => (await bobClient.connectionIds()).length === 2, 'Bob to reconnect');
      await bobClient.close();
      await eventually(async () => (await bobClient.connectionIds()).length === 1, 'Bob\'s new connection to close');
      await new Promise((resolve) => setTimeout(resolve, 600)); // the grace period (300 ms), twice
      expect(annView.keys()).toEqual([ann, bob]);

      // The acting Region's publish (or its worker, queued) meets the lost connection's 410: Bob leaves.
      await cell.world.publish(cell.from, 'onMessage', room, 'after-drop');
      await eventually(() => annView.keys().length === 1, 'Ann to see Bob leave');
      expect(annView.keys()).toEqual([ann]);
      await expect(cell.world.publisher(cell.from).routes.roomMembers.countMembers({ input: { room } })).resolves.toBe(1);
    },
  },
  {
    name: 'rollover',
    run: async (cell) => {
      const client = cell.connect(cell.to);
      const seen = await client.messages(cell.tag);
      const connectionId = await onlyConnection(client);
      await new Promise((resolve) => setTimeout(resolve, 150));

      const result = await cell.world.rollover(cell.from, { olderThanMs: 100, maxConnectionMs: 60_000 });

      expect(result).toMatchObject({ failed: 0, failures: [] });
      if (cell.from === cell.to) {
        expect(result.succeeded).toBeGreaterThanOrEqual(1);
        await expectMovedAndLive(cell, client, connectionId, seen);
      } else {
        // Each Region's rollover notifies its own connections only.
        await settle();
        expect(await client.connectionIds()).toEqual([connectionId]);
      }
    },
  },
  {
    name: 'lifecycle hooks',
    run: async (cell) => {
      const client = cell.connect(cell.to);
      const mine = (hook: string) => hookCalls.filter((call) => call.userId === client.userId && call.hook === hook);
      const seen = await client.messages(cell.tag);
      const connectionId = await onlyConnection(client);
      expect([mine('connect').length, mine('subscribe')]).toEqual([1, [{ hook: 'subscribe', userId: client.userId, room: cell.tag }]]);

      // A move the server asks for: the new subscription starts first, the old one ends as moved.
      await cell.world.publisher(cell.from).connections.reconnect({ key: `user:${client.userId}` });
      await expectMovedAndLive(cell, client, connectionId, seen);
      await eventually(() => mine('disconnect').length === 1, 'the old connection to end');
      // A server-side stop, from the acting Region.
      await expect(cell.world.publisher(cell.from).routes.onMessage.stop(byRoom(cell.tag))).resolves.toMatchObject({ stopped: 1 });
      await eventually(() => mine('unsubscribe').length === 2, 'the stop\'s onUnsubscribe');
      await client.close();
      await eventually(() => mine('disconnect').length === 2, 'the new connection to end');
      await settle();

      expect(mine('subscribe').map((call) => call.room)).toEqual([cell.tag, cell.tag]);
      expect(mine('unsubscribe').map((call) => call.reason)).toEqual(['moved', 'server-stop']);
      expect(mine('disconnect').map((call) => call.reason)).toEqual(['moved', 'disconnect']);
      expect(mine('connect')).toHaveLength(2);
    },
  },
  {
    name: 'history resume',
    run: async (cell) => {
      const start = (await cell.world.publish(cell.from, 'onEvent', cell.tag, 'e0'))!;
      const client = cell.connect(cell.to);
      const seen = await client.events(cell.tag, start);
      await cell.world.publish(cell.from, 'onEvent', cell.tag, 'e1');
      await eventually(() => seen.count('e1') === 1, 'e1');
      const connectionId = await onlyConnection(client);

      // The network drops the connection (its API closes it; $disconnect cleans up), then two events follow.
      const management = new ApiGatewayManagementApiClient({ endpoint: cell.world.gateway(cell.to).endpoint, ...LOCAL_AWS_SETTINGS, maxAttempts: 1 });
      await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      management.destroy();
      await cell.world.publish(cell.from, 'onEvent', cell.tag, 'e2');
      await cell.world.publish(cell.from, 'onEvent', cell.tag, 'e3');

      await eventually(() => seen.ids.length >= 3, 'e2 and e3');
      await settle();
      expect([seen.ids, seen.errors]).toEqual([['e1', 'e2', 'e3'], []]);
    },
  },
  {
    name: 'initial state',
    run: async (cell) => {
      const room = cell.tag;
      const rows = [];
      for (const id of ['s0', 's1']) rows.push({ eventId: (await cell.world.publish(cell.from, 'onEvent', room, id))!, message: { id } });
      matrixRoomState.rows.set(room, rows);
      // Published after the initial state was read, before the subscription is stored: replayed after it, once.
      matrixRoomState.duringInitial.set(room, async () => {
        matrixRoomState.duringInitial.delete(room);
        await cell.world.publish(cell.from, 'onEvent', room, 's2');
      });
      const client = cell.connect(cell.to);
      const seen = await client.events(room);
      // Everything before `started` (the client's frames are handled in order), then live.
      expect([...seen.ids]).toEqual(['s0', 's1', 's2']);
      await cell.world.publish(cell.from, 'onEvent', room, 's3');
      await eventually(() => seen.count('s3') === 1, 's3');
      await settle();
      expect([seen.ids, seen.errors, seen.started]).toEqual([['s0', 's1', 's2', 's3'], [], 1]);
      matrixRoomState.rows.delete(room);
    },
  },
];
