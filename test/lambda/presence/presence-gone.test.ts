import { eventsAbout, freshRoom, startPresenceWorld, type PresenceWorld, type Tab } from './presence-world';
import { dynamodbLedger } from '../../../lambda';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { waitFor } from '../support/harness';
import { startWorkerQueue, type WorkerQueue } from '../support/queue-harness';

/**
 * A member whose connection dropped silently (its `$disconnect` lost) leaves the room when the
 * first role to meet the connection's 410 is not a handler: a producer's publish, the fan-out
 * worker or the rollover. Each releases the connection's presence and sends the member's leave,
 * as `$default` and `$disconnect` do (docs/runtime.md "Room presence"). Real `@trpc/client`
 * clients through the local gateway on DynamoDB Local.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('presence-gone');
});
afterAll(() => table.client.destroy());

let world: PresenceWorld | undefined;
let queue: WorkerQueue | undefined;
afterEach(async () => {
  await queue?.close();
  await world?.close();
  queue = undefined;
  world = undefined;
});

// The default grace: a drop and its reconnect must fit in it on a loaded machine.
const GRACE_MS = 3000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Ann (in the room, and subscribed to its messages) loses a connection silently: her client
 * comes back on a new one, then she closes the tab. The lost connection's ref keeps her listed:
 * no handler ever heard of it.
 */
async function annGoneSilently(room: string): Promise<{ watcher: Tab; lost: string }> {
  const watcher = await world!.join(room, 'watcher');
  const ann = await world!.join(room, 'ann', 'Ann', { messages: true });
  await waitFor(() => watcher.keys().includes('user:ann'), 5000, 'the join');
  const [lost] = await world!.connectionsOf('ann');
  world!.loseDisconnectOf.add(lost);
  await world!.drop(lost);
  await waitFor(async () => (await world!.connectionsOf('ann')).length === 2, 10_000, 'Ann to reconnect');
  await ann.close();
  await sleep(GRACE_MS + 500);
  expect(eventsAbout(watcher, 'user:ann')).toEqual(['join']);
  expect(await world!.publisher.routes.roomMembers.countMembers({ input: { room } })).toBe(2);
  return { watcher, lost };
}

/** Ann left: the watcher got her leave once, and `members()` lists the watcher alone. */
async function expectAnnLeft(room: string, watcher: Tab): Promise<void> {
  await waitFor(() => !watcher.keys().includes('user:ann'), 10_000, 'Ann to leave');
  expect(eventsAbout(watcher, 'user:ann')).toEqual(['join', 'leave']);
  expect(watcher.keys()).toEqual(['user:watcher']);
  expect((await world!.publisher.routes.roomMembers.members({ input: { room } })).map((member) => member.key)).toEqual(['user:watcher']);
}

test('a producer\'s publish that meets the gone connection (410) releases its presence: the member leaves', async () => {
  world = await startPresenceWorld(table, GRACE_MS);
  const room = freshRoom();
  const { watcher } = await annGoneSilently(room);

  const result = await world.publisher.routes.onMessage.publish({ data: { text: 'hello' }, filter: { name: 'byRoom', input: { room } } });
  expect(result).toMatchObject({ matched: 1, gone: 1, failed: 0 });
  // The publish waited out the grace period and sent the leave before it resolved.
  expect(eventsAbout(watcher, 'user:ann')).toEqual(['join', 'leave']);
  await expectAnnLeft(room, watcher);
  expect(world.logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
});

test('the fan-out worker that meets the gone connection (410) releases its presence: the member leaves', async () => {
  world = await startPresenceWorld(table, GRACE_MS);
  const { app, gateway, logger } = world;
  const ledger = dynamodbLedger({ tableName: table.tableName, dynamoDBClient: table.client });
  queue = await startWorkerQueue(({ url, sqsClient }) => app.worker({ endpoint: gateway.endpoint, queueUrl: url, sqsClient, ledger, logger }));
  const room = freshRoom();
  const { watcher } = await annGoneSilently(room);

  const producer = app.publisher({ endpoint: gateway.endpoint, queueUrl: queue.queue.url, sqsClient: queue.sqsClient, logger });
  await producer.routes.onMessage.enqueue({ data: { text: 'queued' }, filter: { name: 'byRoom', input: { room } } });
  await queue.queue.drained();
  await expectAnnLeft(room, watcher);
  expect(queue.queue.deadLetters()).toEqual([]);
  expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
});

test('the rollover whose notification meets the gone connection (410) releases its presence: the member leaves, the moved ones stay', async () => {
  world = await startPresenceWorld(table, GRACE_MS);
  const room = freshRoom();
  const { watcher, lost } = await annGoneSilently(room);

  const rollover = world.app.rollover({ endpoint: world.gateway.endpoint, olderThanMs: 1, maxConnectionMs: 3_600_000, logger: world.logger });
  const result = await rollover();
  expect(result.gone).toBeGreaterThanOrEqual(1);
  expect(await world.store.getConnection(lost)).toBeUndefined();
  await expectAnnLeft(room, watcher);
  // The watcher moved to a new connection (a move is not a leave) and is still in the room.
  await sleep(GRACE_MS + 500);
  expect(eventsAbout(watcher, 'user:watcher')).toEqual([]);
  expect((await world.publisher.routes.roomMembers.members({ input: { room } })).map((member) => member.key)).toEqual(['user:watcher']);
  expect(world.logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
});
