import { memberRef, refExpireAt, type PresenceMemberRow, type PresenceRows, type ReleasedMember, type RoomKey } from './presence';
import type { FilterValue, RequestId } from './store';

interface MemberState {
  key: string;
  member: string;
  present: boolean;
  version: number;
  revision: number;
  refs: Set<string>;
  expireAt: number;
}

interface Pointer {
  readonly room: RoomKey;
  readonly path: string;
  readonly values: readonly FilterValue[];
  readonly key: string;
  readonly ref: string;
}

/**
 * Room presence in memory, with the semantics of `dynamodb()`'s (store/dynamodb-presence.ts):
 * for `memory()`, so that apps' unit tests and `dev --store memory` have presence too.
 * @param isLive whether a subscription is stored (what the join's condition checks)
 */
export function memoryPresence(isLive: (connectionId: string, subscriptionId: RequestId) => boolean): PresenceRows {
  const rooms = new Map<RoomKey, Map<string, MemberState>>();
  const pointers = new Map<string, Map<string, Pointer>>();
  const subscriptionKey = (id: RequestId) => `${typeof id}:${id}`;
  const toRow = (state: MemberState): PresenceMemberRow => ({
    key: state.key, member: state.member, present: state.present, version: state.version, liveUntil: state.expireAt,
  });
  const liveRefs = (state: MemberState) => [...state.refs].filter((ref) => refExpireAt(ref) > Date.now() / 1000);

  return {
    async join(join) {
      if (!isLive(join.connectionId, join.subscriptionId)) return { outcome: 'subscription-gone' };
      const room = rooms.get(join.room) ?? new Map<string, MemberState>();
      rooms.set(join.room, room);
      const old = room.get(join.key);
      const wasPresent = old !== undefined && old.present && old.expireAt * 1000 > Date.now();
      const state: MemberState = old ?? { key: join.key, member: join.member, present: false, version: 0, revision: 0, refs: new Set(), expireAt: 0 };
      state.version = wasPresent ? state.version : Math.max(state.version + 1, Date.now());
      state.member = join.member;
      state.present = true;
      state.expireAt = Math.max(join.expireAt, wasPresent ? state.expireAt : 0);
      const ref = memberRef(join.connectionId, join.subscriptionId, join.expireAt);
      state.refs.add(ref);
      state.revision++;
      room.set(join.key, state);
      const own = pointers.get(join.connectionId) ?? new Map<string, Pointer>();
      pointers.set(join.connectionId, own);
      own.set(subscriptionKey(join.subscriptionId), { room: join.room, path: join.path, values: join.values, key: join.key, ref });
      return { outcome: 'stored', joined: !wasPresent, row: toRow(state) };
    },
    async release(connectionId, subscriptionId) {
      const own = pointers.get(connectionId);
      if (!own) return [];
      const taken = subscriptionId === undefined ? [...own.keys()] : [subscriptionKey(subscriptionId)];
      const released: ReleasedMember[] = [];
      for (const id of taken) {
        const pointer = own.get(id);
        if (!pointer) continue;
        own.delete(id);
        const state = rooms.get(pointer.room)?.get(pointer.key);
        if (!state) continue;
        state.refs.delete(pointer.ref);
        state.revision++;
        if (state.present && liveRefs(state).length === 0) {
          const { room, path, values, key } = pointer;
          released.push({ room, path, values, key, version: state.version, revision: state.revision });
        }
      }
      if (own.size === 0) pointers.delete(connectionId);
      return released;
    },
    async leave(released) {
      const state = rooms.get(released.room)?.get(released.key);
      if (!state || state.revision !== released.revision || !state.present) return undefined;
      state.present = false;
      state.version = Math.max(released.version + 1, Date.now());
      state.revision++;
      return toRow(state);
    },
    async members(room) {
      return [...(rooms.get(room)?.values() ?? [])].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(toRow);
    },
  };
}
