import { applyPresence, emptyPresence, type PresenceEvent, type PresenceState } from '../../client';

/**
 * `applyPresence()`: the member list a client folds from a presence route's events, whatever the
 * order of a sync and the joins and leaves that raced it.
 */
type Member = { readonly name: string };
const member = (key: string, version: number) => ({ key, data: { name: key }, version });
const fold = (events: ReadonlyArray<PresenceEvent<Member>>): PresenceState<Member> => events.reduce(applyPresence, emptyPresence<Member>());
const keys = (state: PresenceState<Member>) => [...state.members.keys()].sort();

test('a sync sets the members; joins and leaves change them', () => {
  const state = fold([
    { type: 'sync', members: [member('a', 1), member('b', 1)], left: [] },
    { type: 'join', member: member('c', 2) },
    { type: 'leave', member: member('a', 3) },
  ]);
  expect(keys(state)).toEqual(['b', 'c']);
  expect(state.members.get('c')?.data).toEqual({ name: 'c' });
});

test('a leave that arrives before a sync read before it wins; a join the sync already holds changes nothing', () => {
  // b left (v5) after the sync's read (which still had b at v4), and its leave came first.
  expect(keys(fold([
    { type: 'leave', member: member('b', 5) },
    { type: 'sync', members: [member('a', 1), member('b', 4)], left: [] },
  ]))).toEqual(['a']);
  // c joined (v2) before the sync's read: the sync has it, then its join arrives.
  expect(keys(fold([
    { type: 'sync', members: [member('c', 2)], left: [] },
    { type: 'join', member: member('c', 2) },
  ]))).toEqual(['c']);
  // d left (v7) before the sync's read, whose `left` says so, and its older join (v6) arrives late.
  expect(keys(fold([
    { type: 'sync', members: [], left: [{ key: 'd', version: 7 }] },
    { type: 'join', member: member('d', 6) },
  ]))).toEqual([]);
});

test('a large room\'s sync in parts adds up to the whole room, with a join between the parts', () => {
  const state = fold([
    { type: 'sync', members: [member('a', 1), member('b', 1)], left: [], more: true },
    { type: 'join', member: member('z', 9) },
    { type: 'sync', members: [member('c', 1)], left: [{ key: 'd', version: 4 }], more: true },
    { type: 'sync', members: [member('e', 1)], left: [] },
  ]);
  expect(keys(state)).toEqual(['a', 'b', 'c', 'e', 'z']);
  expect(state.versions.get('d')).toBe(4);
});

test('the state is never changed in place', () => {
  const before = fold([{ type: 'join', member: member('a', 1) }]);
  const after = applyPresence(before, { type: 'leave', member: member('a', 2) });
  expect([keys(before), keys(after)]).toEqual([['a'], []]);
});
