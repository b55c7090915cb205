/**
 * Folding a presence route's events into the room's member list, in a browser or Node.js client.
 * The event types mirror the runtime's `PresenceEvent` (this module imports nothing of it).
 */

/** A member of a room, as a presence route sends it. */
export interface PresenceMember<TMember> {
  readonly key: string;
  readonly data: TMember;
  readonly version: number;
}

/**
 * The events of a presence route (`sync` first, then `join` / `leave`). A room too large for one
 * WebSocket message comes in several `sync` events, all but the last with `more: true`.
 */
export type PresenceEvent<TMember> =
  | {
    readonly type: 'sync';
    readonly members: ReadonlyArray<PresenceMember<TMember>>;
    readonly left: ReadonlyArray<{ readonly key: string; readonly version: number }>;
    /** More `sync` events of this room follow. */
    readonly more?: true;
  }
  | { readonly type: 'join'; readonly member: PresenceMember<TMember> }
  | { readonly type: 'leave'; readonly member: PresenceMember<TMember> };

/** A room's members as a client knows them: every member key seen, with its latest version. */
export interface PresenceState<TMember> {
  /** The members in the room, by key. */
  readonly members: ReadonlyMap<string, PresenceMember<TMember>>;
  /** The latest version seen of every key (members and those that left). */
  readonly versions: ReadonlyMap<string, number>;
}

/** The state before any event. */
export function emptyPresence<TMember>(): PresenceState<TMember> {
  return { members: new Map(), versions: new Map() };
}

/**
 * The state after `event`. A `sync` is read after the subscription is stored, so a join or leave
 * that happened meanwhile may arrive before it, or after it although the sync already holds it:
 * each member's version decides, per member, which is newer (an older one is ignored).
 */
export function applyPresence<TMember>(state: PresenceState<TMember>, event: PresenceEvent<TMember>): PresenceState<TMember> {
  const members = new Map(state.members);
  const versions = new Map(state.versions);
  const apply = (key: string, version: number, member: PresenceMember<TMember> | undefined) => {
    if ((versions.get(key) ?? -1) > version) return;
    versions.set(key, version);
    if (member) members.set(key, member);
    else members.delete(key);
  };
  switch (event.type) {
    case 'join':
      apply(event.member.key, event.member.version, event.member);
      break;
    case 'leave':
      // A leave has a later version than the join it ends.
      apply(event.member.key, event.member.version, undefined);
      break;
    case 'sync': {
      // Per member, never a replacement of the state: the parts of a large room's sync add up.
      for (const member of event.members) apply(member.key, member.version, member);
      for (const absent of event.left) apply(absent.key, absent.version, undefined);
      break;
    }
  }
  return { members, versions };
}
