import type { FilterConfig, FilterRegistry } from './filters';
import type { AnyFilterDef, FieldValues, FilterDef } from './types';
import type { PresenceMemberRow } from '../store/presence';
import type { FilterEntry } from '../store/store';

/**
 * Room presence: the members of a presence route's room (the route's subscribers with one value
 * of its presence filter), and the events its subscribers receive. docs/runtime.md "Room presence".
 */

/** A member of a room. */
export interface PresenceMember<TMember> {
  /** The member's key: the connection's key (`connectionKey(ctx)`), else its connection id. */
  readonly key: string;
  /** What `presence({ member })` exposed of the member's ctx (the latest join's). */
  readonly data: TMember;
  /** Orders the member's joins and leaves (see `applyPresence` in `cdk-trpc-subscriptions/client`). */
  readonly version: number;
}

/** A member no longer in the room, as a sync reports it: its last leave's version. */
export interface PresenceAbsence {
  readonly key: string;
  readonly version: number;
}

/**
 * What a presence route's subscribers receive: `sync` (the room's members, first thing after
 * subscribing, before `started`), then `join` and `leave` as members come and go. A member is a
 * key: a user with two tabs joins once and leaves when the last tab left (after the grace period).
 * A room too large for one WebSocket message (API Gateway's 128 KB) is synced in several `sync`
 * events, each with some of its members, all but the last with `more: true`; `applyPresence()`
 * merges them per member.
 */
export type PresenceEvent<TMember> =
  | {
    readonly type: 'sync';
    readonly members: ReadonlyArray<PresenceMember<TMember>>;
    readonly left: readonly PresenceAbsence[];
    /** More `sync` events of this room follow (the room did not fit in one message). */
    readonly more?: true;
  }
  | { readonly type: 'join'; readonly member: PresenceMember<TMember> }
  | { readonly type: 'leave'; readonly member: PresenceMember<TMember> };

/** The member type of a route whose data is {@link PresenceEvent}. */
export type PresenceMemberOf<TData> = [TData] extends [PresenceEvent<infer TMember>] ? TMember : never;

/** Default of {@link PresenceOptions.leaveGraceMs}. */
export const DEFAULT_LEAVE_GRACE_MS = 3000;

/** Longest grace period: a `$disconnect` Lambda waits it out. */
export const MAX_LEAVE_GRACE_MS = 60_000;

/** Longest JSON of a member's exposed fields (a sync sends every member's: about 100 per message). */
export const MAX_MEMBER_BYTES = 1024;

/** Options of `.routes.<path>.presence()`. */
export interface PresenceOptions<TCtx, TMember, TFilterName extends string = string> {
  /** The route's filter whose values name a room (every field of it: a room is one value of each). */
  readonly filter: TFilterName;
  /**
   * The fields of ctx members see of each other (JSON, at most 1 KB), e.g.
   * `(ctx) => ({ name: ctx.userName })`. Never expose secrets: every member of the room sees them.
   */
  readonly member: (ctx: TCtx) => TMember;
  /**
   * How long a member whose last subscription ended stays in the room before its `leave` is sent:
   * a dropped connection that comes back within it (the stock client reconnects at once) causes no
   * leave and no join. The role that removed the subscription (`$disconnect`, `$default`, a
   * publisher that met a gone connection) waits it out.
   * @default 3000
   */
  readonly leaveGraceMs?: number;
}

/** A presence route, settled. */
export interface PresenceSettings {
  readonly path: string;
  readonly filter: FilterConfig;
  readonly member: (ctx: unknown) => unknown;
  readonly leaveGraceMs: number;
}

/** Presence routes by path. */
export type PresenceRegistry = ReadonlyMap<string, PresenceSettings>;

/** Sends a presence event to the subscribers of a room (the app's publisher, wired by the builder). */
export type PresenceDelivery = (path: string, filter: FilterEntry, event: PresenceEvent<unknown>, excludeConnectionId?: string) => Promise<void>;

/**
 * Checks `.routes.<path>.presence()` options against the route's filters.
 * @throws Error naming the option and the value
 */
export function toPresenceSettings(
  path: string, options: PresenceOptions<unknown, unknown>, filters: FilterRegistry, existing: PresenceRegistry | undefined,
): PresenceSettings {
  const where = `routes.${path}.presence()`;
  if (existing?.has(path)) throw new Error(`${where}: presence is already declared on "${path}"`);
  if (typeof options !== 'object' || options === null) throw new Error(`${where}: options must be an object, got: ${JSON.stringify(options)}`);
  const filter = (filters.get(path) ?? []).find((candidate) => candidate.name === options.filter);
  if (!filter) {
    const names = (filters.get(path) ?? []).map((candidate) => `"${candidate.name}"`).join(', ') || 'none';
    throw new Error(`${where}: \`filter\` must name a filter of "${path}" (declared before presence()), got: ${JSON.stringify(options.filter)} (filters: ${names})`);
  }
  if (typeof options.member !== 'function') throw new Error(`${where}: \`member\` must be a function (ctx) => fields, got: ${typeof options.member}`);
  const leaveGraceMs = options.leaveGraceMs ?? DEFAULT_LEAVE_GRACE_MS;
  if (!Number.isInteger(leaveGraceMs) || leaveGraceMs < 0 || leaveGraceMs > MAX_LEAVE_GRACE_MS) {
    throw new Error(`${where}: \`leaveGraceMs\` must be a whole number of milliseconds from 0 to ${MAX_LEAVE_GRACE_MS}, got: ${options.leaveGraceMs}`);
  }
  return { path, filter, member: options.member as (ctx: unknown) => unknown, leaveGraceMs };
}

/**
 * The exposed fields of a member, as JSON.
 * @throws Error naming the route when they are not JSON or too long
 */
export function memberJson(settings: PresenceSettings, ctx: unknown): string {
  const json = JSON.stringify(settings.member(ctx) ?? null);
  if (json === undefined || Buffer.byteLength(json, 'utf8') > MAX_MEMBER_BYTES) {
    throw new Error(`Presence of "${settings.path}": \`member(ctx)\` must return JSON of at most ${MAX_MEMBER_BYTES} bytes, got: ${json === undefined ? 'no JSON' : `${Buffer.byteLength(json, 'utf8')} bytes`}`);
  }
  return json;
}

/** A member row as a member of an event. */
export function toPresenceMember(row: PresenceMemberRow): PresenceMember<unknown> {
  return { key: row.key, data: JSON.parse(row.member) as unknown, version: row.version };
}

/**
 * Whether a member row counts as in the room now: present (a member whose last connection just
 * ended is, until its grace period ends) and not past its connections' expiry (one whose
 * connections all vanished without `$disconnect` is not).
 */
export function isInRoom(row: PresenceMemberRow): boolean {
  return row.present && row.liveUntil * 1000 > Date.now();
}

/** A `sync` event. */
export type SyncEvent = Extract<PresenceEvent<unknown>, { readonly type: 'sync' }>;

/** The sync event of a room, from its member rows. */
export function syncEvent(rows: readonly PresenceMemberRow[]): SyncEvent {
  const members = rows.filter(isInRoom);
  const left = rows.filter((row) => !isInRoom(row)).map((row) => ({ key: row.key, version: row.version }));
  return { type: 'sync', members: members.map(toPresenceMember), left };
}

/**
 * `sync` as events that each `fits` (one WebSocket message each), in the order of its members
 * then its absences, all but the last marked `more`. Parts are packed by the entries' JSON size
 * up to `budgetBytes`, and a part that still does not fit (the transformer's encoding is larger)
 * is halved until it does; a single entry always fits (a member's JSON is at most 1 KB).
 */
export function splitSync(sync: SyncEvent, fits: (part: SyncEvent) => boolean, budgetBytes: number): SyncEvent[] {
  if (fits(sync)) return [sync];
  type Entry = { readonly member: SyncEvent['members'][number] } | { readonly absent: PresenceAbsence };
  const entries: Entry[] = [...sync.members.map((member) => ({ member })), ...sync.left.map((absent) => ({ absent }))];
  const eventOf = (part: readonly Entry[]): SyncEvent => ({
    type: 'sync',
    members: part.flatMap((entry) => ('member' in entry ? [entry.member] : [])),
    left: part.flatMap((entry) => ('absent' in entry ? [entry.absent] : [])),
    more: true,
  });
  const packed: Entry[][] = [[]];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (bytes + size > budgetBytes && packed[packed.length - 1].length > 0) {
      packed.push([]);
      bytes = 0;
    }
    packed[packed.length - 1].push(entry);
    bytes += size;
  }
  const fitted = (part: Entry[]): Entry[][] => {
    if (part.length <= 1 || fits(eventOf(part))) return [part];
    const half = Math.ceil(part.length / 2);
    return [...fitted(part.slice(0, half)), ...fitted(part.slice(half))];
  };
  const parts = packed.flatMap(fitted).map(eventOf);
  const last = parts[parts.length - 1];
  parts[parts.length - 1] = { type: 'sync', members: last.members, left: last.left };
  return parts;
}

/** A presence route (`.routes.<path>.presence()`), as the type system remembers it. */
export interface PresenceDef<TPath extends string, TFilterName extends string> extends FilterDef<TPath, never, never, never> {
  readonly presence: true;
  readonly presenceFilter: TFilterName;
}

/** The presence filter's name of a path, never when the path has no presence. */
export type PresenceFilterOf<TFilters extends AnyFilterDef, TPath extends string> =
  [Extract<TFilters, { readonly path: TPath; readonly presence: true }>] extends [never]
    ? never
    : Extract<TFilters, { readonly path: TPath; readonly presence: true }> extends PresenceDef<TPath, infer TName> ? TName : never;

/** A room of a presence route: a value for every field of its presence filter. */
export type RoomOf<TDef extends AnyFilterDef, TCtx, TInput> = TDef extends AnyFilterDef
  ? ([TDef['ctx']] extends [never] ? { readonly ctx?: never } : { readonly ctx: FieldValues<TCtx, TDef['ctx']> })
  & ([TDef['input']] extends [never] ? { readonly input?: never } : { readonly input: FieldValues<TInput, TDef['input']> })
  : never;
