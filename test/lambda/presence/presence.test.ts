import { eventsAbout, freshRoom, startPresenceWorld, type PresenceWorld } from './presence-world';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { waitFor } from '../support/harness';

/**
 * Room presence with real `@trpc/client` clients through the local gateway on DynamoDB Local:
 * sync before `started`, a member per key, leaves after the grace period, and moves that are not
 * leaves.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('presence');
});
afterAll(() => table.client.destroy());

let world: PresenceWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

// The default grace: a drop and its reconnect must fit in it on a loaded machine.
const GRACE_MS = 3000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test.each(['dynamodb', 'memory'] as const)('%s: a subscriber gets the room\'s members (sync) before started, then joins and leaves of the others', async (kind) => {
  world = await startPresenceWorld(table, GRACE_MS, kind);
  const room = freshRoom();
  const ann = await world.join(room, 'ann', 'Ann');
  expect(ann.received[0]).toEqual({ type: 'sync', members: [{ key: 'user:ann', data: { name: 'Ann' }, version: expect.any(Number) }], left: [] });
  expect(ann.received.indexOf('started')).toBeGreaterThan(0);

  const bob = await world.join(room, 'bob', 'Bob');
  expect(bob.keys()).toEqual(['user:ann', 'user:bob']);
  await waitFor(() => ann.keys().length === 2, 5000, 'Ann to see Bob join');
  expect(eventsAbout(ann, 'user:bob')).toEqual(['join']);
  expect(await world.publisher.routes.roomMembers.members({ input: { room } })).toEqual([
    { key: 'user:ann', data: { name: 'Ann' }, version: expect.any(Number) },
    { key: 'user:bob', data: { name: 'Bob' }, version: expect.any(Number) },
  ]);

  await bob.close();
  await waitFor(() => ann.keys().length === 1, 10_000, 'Ann to see Bob leave');
  expect(eventsAbout(ann, 'user:bob')).toEqual(['join', 'leave']);
  expect(await world.publisher.routes.roomMembers.countMembers({ input: { room } })).toBe(1);
  // Another room is another partition: nobody there.
  expect(await world.publisher.routes.roomMembers.countMembers({ input: { room: freshRoom() } })).toBe(0);
});

test('two tabs of one user are one member: one join, and one leave once the last tab left', async () => {
  world = await startPresenceWorld(table, GRACE_MS);
  const room = freshRoom();
  const watcher = await world.join(room, 'watcher');
  const first = await world.join(room, 'ann');
  const second = await world.join(room, 'ann');
  await waitFor(() => watcher.keys().includes('user:ann'), 5000, 'the join');
  expect(await world.publisher.routes.roomMembers.countMembers({ input: { room } })).toBe(2);

  await first.close();
  await sleep(GRACE_MS + 1000);
  expect(eventsAbout(watcher, 'user:ann')).toEqual(['join']);
  expect(await world.publisher.routes.roomMembers.countMembers({ input: { room } })).toBe(2);

  await second.close();
  await waitFor(() => !watcher.keys().includes('user:ann'), 10_000, 'the leave');
  expect(eventsAbout(watcher, 'user:ann')).toEqual(['join', 'leave']);
});

test('a dropped connection that comes back within the grace period is no leave and no join', async () => {
  world = await startPresenceWorld(table, GRACE_MS);
  const room = freshRoom();
  const watcher = await world.join(room, 'watcher');
  const ann = await world.join(room, 'ann');
  await waitFor(() => watcher.keys().includes('user:ann'), 5000, 'the join');
  const [before] = await world.connectionsOf('ann');

  await world.drop(before);
  // The stock client reconnects and resubscribes on a new connection.
  await waitFor(async () => {
    const now = await world!.connectionsOf('ann');
    return now.length === 1 && now[0] !== before;
  }, 10_000, 'Ann to reconnect');
  await sleep(GRACE_MS + 1000);
  expect(eventsAbout(watcher, 'user:ann')).toEqual(['join']);
  expect(watcher.keys()).toEqual(['user:ann', 'user:watcher']);
  expect(ann.keys()).toEqual(['user:ann', 'user:watcher']);
  expect(await world.publisher.routes.roomMembers.countMembers({ input: { room } })).toBe(2);
});

test('a server-initiated move (reconnect notification, as the rollover sends) is no leave and no join', async () => {
  world = await startPresenceWorld(table, GRACE_MS);
  const room = freshRoom();
  const watcher = await world.join(room, 'watcher');
  await world.join(room, 'ann');
  await waitFor(() => watcher.keys().includes('user:ann'), 5000, 'the join');
  const [before] = await world.connectionsOf('ann');

  const result = await world.publisher.connections.reconnect({ key: 'user:ann' });
  expect(result).toMatchObject({ matched: 1, succeeded: 1 });
  await waitFor(async () => {
    const now = await world!.connectionsOf('ann');
    return now.length === 1 && now[0] !== before;
  }, 10_000, 'Ann to move');
  await sleep(GRACE_MS + 1000);
  expect(eventsAbout(watcher, 'user:ann')).toEqual(['join']);
  expect(await world.publisher.routes.roomMembers.countMembers({ input: { room } })).toBe(2);
});

test('a member whose $disconnect was lost leaves when a presence event meets its gone connection (410)', async () => {
  world = await startPresenceWorld(table, GRACE_MS);
  const room = freshRoom();
  const watcher = await world.join(room, 'watcher');
  const ann = await world.join(room, 'ann');
  await waitFor(() => watcher.keys().includes('user:ann'), 5000, 'the join');
  const [lost] = await world.connectionsOf('ann');
  world.loseDisconnectOf.add(lost);
  await world.drop(lost);
  // Ann's client reconnects; the old connection's ref stays (its $disconnect never ran), and the
  // table's key row too.
  await waitFor(async () => (await world!.connectionsOf('ann')).length === 2, 10_000, 'Ann to reconnect');
  await ann.close();
  await sleep(GRACE_MS + 500);
  // Nothing told the store of the lost connection: Ann is still listed.
  expect(eventsAbout(watcher, 'user:ann')).toEqual(['join']);
  expect(await world.publisher.routes.roomMembers.countMembers({ input: { room } })).toBe(2);

  await world.join(room, 'bob');
  await waitFor(() => !watcher.keys().includes('user:ann'), 10_000, 'Ann to leave');
  expect(eventsAbout(watcher, 'user:ann')).toEqual(['join', 'leave']);
  expect(await world.publisher.routes.roomMembers.members({ input: { room } })).toEqual([
    expect.objectContaining({ key: 'user:bob' }),
    expect.objectContaining({ key: 'user:watcher' }),
  ]);
});

test('members() needs every field of the presence filter; a route without presence has no members()', async () => {
  world = await startPresenceWorld(table, GRACE_MS);
  await expect(world.publisher.routes.roomMembers.members({} as never)).rejects.toThrow(
    'Presence of "roomMembers": a room needs every field of filter "byRoom" (room), got 0 of 1',
  );
  await expect((world.publisher.routes.onMessage as never as { members(room: unknown): Promise<unknown> }).members({ input: { room: 'a' } })).rejects.toThrow(
    'Presence of "onMessage": the route has no presence; declare it with .routes.onMessage.presence({ filter, member })',
  );
});
