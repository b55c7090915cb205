import { freshRoom, startPresenceWorld, type PresenceWorld } from './presence-world';
import { MAX_MESSAGE_BYTES } from '../../../lambda/constants';
import { splitSync, type SyncEvent } from '../../../lambda/core/presence';
import { roomKey } from '../../../lambda/store/presence';
import { forEachBounded } from '../../../lambda/util/pool';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { addVirtualSubscribers } from '../support/queue-harness';

/**
 * A room whose sync is larger than one WebSocket message (API Gateway's 128 KB): the subscriber
 * gets it in several `sync` events, each under the limit, all but the last with `more: true`,
 * and `applyPresence()` (which merges per member, as it always did) lists every member.
 */
let table: TestTable;
let world: PresenceWorld | undefined;
beforeAll(async () => {
  table = await createTestTable('presence-large-sync');
});
afterAll(async () => {
  await world?.close();
  table.client.destroy();
});

const member = (key: string, bytes: number) => ({ key, data: { name: 'x'.repeat(bytes) }, version: 1 });

describe('splitSync', () => {
  const sync: SyncEvent = {
    type: 'sync',
    members: Array.from({ length: 10 }, (_, index) => member(`m${index}`, 100)),
    left: [{ key: 'gone', version: 2 }],
  };
  const entriesOf = (parts: readonly SyncEvent[]) => [parts.flatMap((part) => part.members), parts.flatMap((part) => part.left)];

  test('a sync that fits is sent whole, without `more`', () => {
    expect(splitSync(sync, () => true, 1000)).toEqual([sync]);
  });

  test('a sync that does not fit is packed by size: every entry once, in order, `more` on all but the last', () => {
    const fitsIn = (bytes: number) => (part: SyncEvent) => Buffer.byteLength(JSON.stringify(part)) <= bytes;
    const parts = splitSync(sync, fitsIn(600), 450);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.every(fitsIn(600))).toBe(true);
    expect(entriesOf(parts)).toEqual([sync.members, sync.left]);
    expect(parts.map((part) => part.more)).toEqual([...parts.slice(1).map(() => true), undefined]);
  });

  test('a part the budget let through but that does not fit (a larger encoding) is halved until it does', () => {
    const atMostTwoMembers = (part: SyncEvent) => part.members.length + part.left.length <= 2;
    const parts = splitSync(sync, atMostTwoMembers, 1_000_000);
    expect(parts.every(atMostTwoMembers)).toBe(true);
    expect(entriesOf(parts)).toEqual([sync.members, sync.left]);
  });
});

test('a real client joining a room larger than one message gets its sync in parts and lists every member', async () => {
  world = await startPresenceWorld(table, 3000);
  const room = freshRoom();
  // 160 members of about 900 bytes each (the limit is 1 KB): about 150 KB of sync.
  const count = 160;
  const ids = await addVirtualSubscribers(world.gateway, world.store, count, { path: 'roomMembers', filters: [{ name: 'byRoom', values: [room] }] });
  const rows = world.store.presence!();
  const expireAt = Math.floor(Date.now() / 1000) + 3600;
  await forEachBounded([ids.map((connectionId, index) => ({ connectionId, index }))], 10, async ({ connectionId, index }) => {
    const joined = await rows.join({
      room: roomKey('roomMembers', 'byRoom', [room]),
      path: 'roomMembers',
      values: [room],
      key: `user:v${index}`,
      member: JSON.stringify({ name: `${index}`.padEnd(900, '.') }),
      connectionId,
      subscriptionId: 1,
      expireAt,
    });
    expect(joined.outcome).toBe('stored');
  });

  const ann = await world.join(room, 'ann');
  const started = ann.received.indexOf('started');
  const syncs = ann.received.slice(0, started).flatMap((event) => (event !== 'started' && event.type === 'sync' ? [event] : []));
  expect(syncs.length).toBeGreaterThanOrEqual(2);
  expect(syncs.map((part) => part.more)).toEqual([...syncs.slice(1).map(() => true), undefined]);
  for (const part of syncs) expect(Buffer.byteLength(JSON.stringify(part))).toBeLessThan(MAX_MESSAGE_BYTES);
  expect(ann.keys()).toEqual([...ids.map((_, index) => `user:v${index}`), 'user:ann'].sort());
  expect(ann.state.members.get('user:v7')?.data).toEqual({ name: '7'.padEnd(900, '.') });
  expect(await world.publisher.routes.roomMembers.countMembers({ input: { room } })).toBe(count + 1);
  // The virtual members got Ann's join.
  expect(world.gateway.virtualConnections.received(ids[0]).some((frame) => frame.includes('"join"'))).toBe(true);
}, 120_000);
