import { CONNECTION_PARTITION_PREFIX, PRESENCE_PARTITION_PREFIX, PRESENCE_POINTER_PARTITION_PREFIX } from '../constants';
import { connectionPartitionKey, encodeValue, escapeKeyPart, keyPart, MAX_INLINE_PARTITION_KEY_PART_BYTES, type TableKey } from './keys';
import type { FilterValue, RequestId } from './store';

/**
 * Room presence rows (docs/table-design.md "Room presence"): one member row per member of a room
 * (a route's presence filter with all its values), holding the member's live subscriptions as
 * refs, and one pointer row per subscription naming its member row, so that whichever removal
 * deletes the pointer first releases the ref (exactly once).
 */

/** A room: the partition key of its member rows. */
export type RoomKey = string;

/** A member row as read. */
export interface PresenceMemberRow {
  /** The member's key (the connection's key, else its connection id). */
  readonly key: string;
  /** The fields the app exposes (`presence({ member })`), as JSON. */
  readonly member: string;
  /** Present: the member has joined and not left (a leave waits out the grace period). */
  readonly present: boolean;
  /** Bumped by every join and leave of this member: orders its events. */
  readonly version: number;
  /**
   * The row's `expireAt` (integer epoch seconds): the latest expiry of the connections it joined
   * with. Past it, a present member is one whose connections all vanished without `$disconnect`.
   */
  readonly liveUntil: number;
}

/** A member whose last ref a release removed: its leave is due once the grace period passed. */
export interface ReleasedMember {
  readonly room: RoomKey;
  /** The presence route and the values of its presence filter (what the leave is published to). */
  readonly path: string;
  readonly values: readonly FilterValue[];
  readonly key: string;
  /** The member row's version when its last ref went. */
  readonly version: number;
  /** The member row's revision then: the leave happens only if nothing changed it since. */
  readonly revision: number;
}

/** What a join writes. */
export interface PresenceJoin {
  readonly room: RoomKey;
  /** The presence route and the values of its presence filter, kept on the pointer row for the leave. */
  readonly path: string;
  readonly values: readonly FilterValue[];
  readonly key: string;
  readonly member: string;
  readonly connectionId: string;
  readonly subscriptionId: RequestId;
  /** The subscription's `expireAt` (its connection's). */
  readonly expireAt: number;
}

/** Outcome of {@link PresenceRows.join}. */
export type PresenceJoinResult =
  /** The subscription is gone (stopped, or its connection closed): nothing was written. */
  | { readonly outcome: 'subscription-gone' }
  /** The ref is stored; `joined` when the member was not present before (then `member` is its row). */
  | { readonly outcome: 'stored'; readonly joined: boolean; readonly row: PresenceMemberRow };

/** The requests of room presence. `dynamodb()` and `memory()` implement them. */
export interface PresenceRows {
  /**
   * Adds a subscription's ref to its member row (creating it, or marking it present with the next
   * version when it was not), with the subscription's pointer row, only while the subscription row
   * exists: a stop or disconnect that removed it first leaves nothing behind.
   */
  join(join: PresenceJoin): Promise<PresenceJoinResult>;
  /**
   * Removes the refs of a connection's subscriptions (one subscription when `subscriptionId` is
   * given) whose pointer rows this call deletes (a concurrent release gets none of them).
   * @returns the members left with no live ref
   */
  release(connectionId: string, subscriptionId?: RequestId): Promise<ReleasedMember[]>;
  /**
   * Marks a member absent with the next version, only if its row did not change since the release
   * (it did not come back during the grace period).
   * @returns its row after the leave, or undefined when it came back (or another call left it)
   */
  leave(released: ReleasedMember): Promise<PresenceMemberRow | undefined>;
  /** Every member row of a room (present or not), strongly consistent, paginated. */
  members(room: RoomKey): Promise<PresenceMemberRow[]>;
}

/** Prefix of member rows' sort keys. */
export const MEMBER_SORT_PREFIX = 'M#';

/** The room of a route's presence filter with all its values (encoded as the index encodes them). */
export function roomKey(path: string, filterName: string, values: readonly unknown[]): RoomKey {
  const encoded = values.map((value) => encodeValue(value as never)).join('');
  const part = (value: string) => keyPart(value, MAX_INLINE_PARTITION_KEY_PART_BYTES);
  return `${PRESENCE_PARTITION_PREFIX}${part(path)}#${part(filterName)}#${part(encoded)}`;
}

/** A member row's key. */
export function memberKey(room: RoomKey, key: string): TableKey {
  return { pk: room, sk: `${MEMBER_SORT_PREFIX}${escapeKeyPart(key)}` };
}

/** Partition of a connection's presence pointer rows (not its own partition: `$disconnect` deletes that first). */
export function pointerPartitionKey(connectionId: string): string {
  return `${PRESENCE_POINTER_PARTITION_PREFIX}${connectionPartitionKey(connectionId).slice(CONNECTION_PARTITION_PREFIX.length)}`;
}

/** A subscription's pointer row. */
export function pointerKey(connectionId: string, subscriptionId: RequestId): TableKey {
  return { pk: pointerPartitionKey(connectionId), sk: `S#${encodeValue(subscriptionId)}` };
}

/** The ref of a subscription in its member row's set: unique per subscription, carrying its expiry. */
export function memberRef(connectionId: string, subscriptionId: RequestId, expireAt: number): string {
  return `${expireAt}|${encodeValue(subscriptionId)}${escapeKeyPart(connectionId)}`;
}

/** The expiry a ref carries (integer epoch seconds). */
export function refExpireAt(ref: string): number {
  return Number(ref.slice(0, ref.indexOf('|')));
}
