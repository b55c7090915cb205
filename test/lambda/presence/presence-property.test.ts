import fc from 'fast-check';
import { eventsAbout, freshRoom, startPresenceWorld, type PresenceWorld, type Tab } from './presence-world';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { waitFor } from '../support/harness';

/**
 * Room presence under random joins, leaves, dropped connections (the client comes back), silent
 * drops (the connection's `$disconnect` is lost) and server-initiated moves (reconnect
 * notifications), with real clients through the local gateway on DynamoDB Local. Once things
 * settle, every client's member list, `members()` and a newcomer's sync agree with the model
 * (the users with an open tab), and no user's joins and leaves flapped: they alternate, and there
 * are no more of them than the model's own comings and goings.
 */
let table: TestTable;
let world: PresenceWorld;
beforeAll(async () => {
  table = await createTestTable('presence-property');
  world = await startPresenceWorld(table, GRACE_MS);
});
afterAll(async () => {
  await world?.close();
  table.client.destroy();
});

// The default grace: a drop and its reconnect must fit in it on a loaded machine.
const GRACE_MS = 3000;
const USERS = ['ann', 'bob', 'cy'] as const;
type User = typeof USERS[number];
type Command = { readonly kind: 'join' | 'leave' | 'drop' | 'silent' | 'move'; readonly user: User };

const commandArb: fc.Arbitrary<Command> = fc.record({
  kind: fc.constantFrom('join', 'join', 'leave', 'drop', 'silent', 'move'),
  user: fc.constantFrom(...USERS),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('members converge on the users with an open tab, without flapping', async () => {
  await fc.assert(fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 8 }), async (commands) => {
    const room = freshRoom();
    const tag = room.slice(-6);
    const key = (user: string): string => `user:${user}-${tag}`;
    const watcher = await world.join(room, `watcher-${tag}`);
    const tabs = new Map<User, Tab[]>(USERS.map((user) => [user, []]));
    const lost = new Set<string>();
    const closeLater: Tab[] = [watcher];
    const arrivals = new Map<User, number>(USERS.map((user) => [user, 0]));
    const departures = new Map<User, number>(USERS.map((user) => [user, 0]));
    /** The user's connections whose $disconnect was not lost: one per open tab once they settled. */
    const live = async (user: User) => (await world.connectionsOf(`${user}-${tag}`)).filter((id) => !lost.has(id));
    const settled = (user: User) => waitFor(async () => (await live(user)).length === tabs.get(user)!.length, 15_000, `${user}'s tabs to reconnect`);
    try {
      for (const { kind, user } of commands) {
        const open = tabs.get(user)!;
        switch (kind) {
          case 'join':
            if (open.length === 0) arrivals.set(user, arrivals.get(user)! + 1);
            open.push(await world.join(room, `${user}-${tag}`));
            break;
          case 'leave': {
            const tab = open.pop();
            if (!tab) break;
            if (open.length === 0) departures.set(user, departures.get(user)! + 1);
            await tab.close();
            break;
          }
          case 'drop':
          case 'silent':
            for (const connectionId of await live(user)) {
              if (kind === 'silent') {
                lost.add(connectionId);
                world.loseDisconnectOf.add(connectionId);
              }
              await world.drop(connectionId).catch(() => undefined);
            }
            await settled(user);
            break;
          case 'move':
            // A reconnect from a producer; after a silent drop it meets the lost connection's 410,
            // removes its rows and releases its presence there (the member keeps its live ref).
            if (open.length === 0) break;
            await world.publisher.connections.reconnect({ key: key(user) as `user:${string}` });
            await settled(user);
            break;
        }
      }
      // A newcomer's join reaches every subscription of the room, the silently dropped ones too:
      // their 410 releases what their lost $disconnect did not.
      const newcomer = await world.join(room, `newcomer-${tag}`);
      closeLater.push(newcomer);
      const expected = [
        ...USERS.filter((user) => tabs.get(user)!.length > 0).map(key), key('watcher'), key('newcomer'),
      ].sort();
      await waitFor(() => watcher.keys().join() === expected.join() && newcomer.keys().join() === expected.join(), 20_000, 'the member lists to converge')
        .catch(() => undefined);
      await sleep(GRACE_MS + 1000);

      expect(watcher.keys()).toEqual(expected);
      expect(newcomer.keys()).toEqual(expected);
      for (const tab of [...tabs.values()].flat()) expect(tab.keys()).toEqual(expected);
      expect((await world.publisher.routes.roomMembers.members({ input: { room } })).map((member) => member.key)).toEqual(expected);
      for (const user of USERS) {
        const events = eventsAbout(watcher, key(user));
        // Alternating, starting with a join.
        expect(events.every((type, index) => type === (index % 2 === 0 ? 'join' : 'leave'))).toBe(true);
        const joins = events.filter((type) => type === 'join').length;
        expect(joins).toBeLessThanOrEqual(arrivals.get(user)!);
        expect(events.length - joins).toBeLessThanOrEqual(departures.get(user)!);
      }
    } finally {
      await Promise.all([...tabs.values()].flat().map((tab) => tab.close().catch(() => undefined)));
      await Promise.all(closeLater.map((tab) => tab.close().catch(() => undefined)));
    }
  }), {
    numRuns: 5,
    endOnFailure: true,
    // Found by seed 491893030: a producer's reconnect meets the silently dropped connection's 410
    // (before, it removed the rows without releasing the presence, and Ann stayed listed).
    examples: [[[{ kind: 'join', user: 'ann' }, { kind: 'silent', user: 'ann' }, { kind: 'move', user: 'ann' }, { kind: 'leave', user: 'ann' }]]],
  });
}, 600_000);
