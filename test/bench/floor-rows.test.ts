import { LifecycleFloor, roomFilters } from '../../bench/support/floors';
import { dynamodb } from '../../lambda';
import { createSubscriptionTable } from '../../lambda/local';
import { createTestTable, scanRows, type Row } from '../support/dynamodb';

/**
 * The bench's floors are bare requests of "the same rows" as the library's connect, subscribe,
 * stop and disconnect: at every step the floor's table must hold what the store's holds (times
 * aside), so that a change of the store's rows fails here, not as a floor that measures less.
 */
test("the bench's floor requests write and delete the rows the store does", async () => {
  const table = await createTestTable('floor-store');
  const floorTable = `${table.tableName}-floor`;
  await createSubscriptionTable({ client: table.client, tableName: floorTable });
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const floor = new LifecycleFloor(table.client, floorTable);
  const connectionId = 'AbC+dE/fGh12=';
  const rooms = ['room #1;x', 'room-2'];
  const timeless = (rows: Row[]) => rows
    .map(({ connectedAt, expireAt, ...row }) => ({ ...row, connectedAt: typeof connectedAt, expireAt: typeof expireAt }))
    .map((row) => ({ ...row, pk: row.pk.replace(/^AGE#\d+$/, 'AGE#{minute}') }))
    .sort((a, b) => `${a.pk}\u0000${a.sk}`.localeCompare(`${b.pk}\u0000${b.sk}`));
  const expectSameRows = async () => {
    const [stored, floored] = await Promise.all([scanRows(table.client, table.tableName), scanRows(table.client, floorTable)]);
    expect(timeless(floored)).toEqual(timeless(stored));
    return stored.length;
  };
  try {
    const now = Date.now();
    await store.putConnection({
      connectionId, connectedAt: now, expireAt: Math.floor(now / 1000) + 7800, awaitingConnectionParams: false, connect: { sourceIp: '127.0.0.1' },
    });
    await floor.connect(connectionId)();
    expect(await expectSameRows()).toBe(2);
    for (const [index, room] of rooms.entries()) {
      await store.addSubscription({ connectionId, subscriptionId: index + 1, path: 'onMessage', filters: roomFilters(room), expireAt: Math.floor(now / 1000) + 7800 });
      await floor.subscribe(connectionId, index + 1, room)();
    }
    expect(await expectSameRows()).toBe(2 + 2 * 4);
    await store.removeSubscription(connectionId, 1);
    await floor.stop(connectionId, 1, rooms[0])();
    expect(await expectSameRows()).toBe(2 + 4);
    await store.removeConnection(connectionId);
    await floor.disconnect(connectionId)();
    expect(await expectSameRows()).toBe(0);
    // The floor without the guarantees deletes the same rows in fewer requests.
    await floor.connect(connectionId)();
    await floor.subscribe(connectionId, 1, rooms[0])();
    await floor.disconnectUnguarded(connectionId)();
    expect(await scanRows(table.client, floorTable)).toEqual([]);
  } finally {
    table.client.destroy();
  }
});
