/**
 * Event history of a route (opt-in with `.routes.<path>.history()`): its records, event ids,
 * keys and the matching rule a resuming subscription applies. docs/table-design.md (Event
 * history) explains the design and the resume argument.
 */
import { HISTORY_PARTITION_PREFIX } from '../constants';
import { keyPart, MAX_INLINE_PARTITION_KEY_PART_BYTES, type TableKey } from './keys';
import type { FilterEntry } from './store';

/** Digits of an event id: ids are zero-padded decimals, so they sort as strings and as numbers. */
export const EVENT_ID_DIGITS = 16;

/** {@link EVENT_ID_DIGITS} decimal digits (a literal: a `new RegExp` at load stays in every bundle importing this module). */
const EVENT_ID_PATTERN = /^\d{16}$/;

/** An event to append to a route's history. */
export interface HistoryAppend {
  /** Procedure path. */
  readonly path: string;
  /** The publish's filter (none: the event went to every subscription of the route). */
  readonly filter?: FilterEntry;
  /** When the event leaves the history (TTL), integer epoch seconds. */
  readonly expireAt: number;
  /**
   * Encodes the event with its id (the store assigns the id, then stores what this returns): the
   * JSON of the frame's `result`, sent again as is when the event is replayed.
   */
  readonly encode: (eventId: string) => string;
}

/** An event as kept in the history. */
export interface HistoryEventRecord {
  /** The event id the store assigned: 16 zero-padded decimal digits, dense and increasing per route. */
  readonly eventId: string;
  /** The publish's filter, if any. */
  readonly filter?: FilterEntry;
  /** The JSON of the data frame's `result`. */
  readonly result: string;
  /** When the event leaves the history, integer epoch seconds (TTL may delete it later). */
  readonly expireAt: number;
}

/**
 * Refuses a new subscription when the route's history holds an event after `afterEventId`: the
 * condition that makes the switch from replay to live delivery exact.
 */
export interface HistoryFence {
  readonly path: string;
  readonly afterEventId: string;
}

/** The id of the `seq`-th event of a route's sequence. */
export function formatEventId(seq: number): string {
  return String(seq).padStart(EVENT_ID_DIGITS, '0');
}

/**
 * Whether `id` has the form of an event id (16 decimal digits), whatever its value: one above
 * every id a history issued (even above 2^53) is well-formed, and a resume from it is answered
 * "never issued", not "malformed".
 */
export function isEventId(id: unknown): id is string {
  return typeof id === 'string' && EVENT_ID_PATTERN.test(id);
}

/**
 * The sequence number of an event id, or undefined when `id` is not one, or is above
 * `Number.MAX_SAFE_INTEGER` (no history issues such ids: they start at the clock's milliseconds).
 */
export function parseEventId(id: unknown): number | undefined {
  if (!isEventId(id)) return undefined;
  const seq = Number(id);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

/** The id right after `eventId` in its route's sequence (exact for any well-formed id). */
export function nextEventId(eventId: string): string {
  if (!isEventId(eventId)) throw new RangeError(`Not an event id: ${JSON.stringify(eventId)}`);
  const next = (BigInt(eventId) + 1n).toString().padStart(EVENT_ID_DIGITS, '0');
  if (next.length > EVENT_ID_DIGITS) throw new RangeError(`No event id follows ${eventId}`);
  return next;
}

/**
 * The first sequence number of a route whose history is empty: the current time in whole seconds,
 * in milliseconds. A route's sequence grows by at most one per write (a history partition takes
 * well under one write per millisecond), so a sequence started after an earlier one expired starts
 * above every id of it; publishers starting the same empty history in the same second pick the same
 * number, and the conditional write lets only one of them have it.
 */
export function firstSequence(nowMs: number): number {
  return Math.floor(nowMs / 1000) * 1000;
}

/** `HIST#{path}`: the partition of a route's history, one row per event, sorted by id. */
export function historyPartitionKey(path: string): string {
  return `${HISTORY_PARTITION_PREFIX}${keyPart(path, MAX_INLINE_PARTITION_KEY_PART_BYTES)}`;
}

/** `E#{eventId}`: sort key of an event in its route's history. */
export function historyEventSortKey(eventId: string): string {
  return `E#${eventId}`;
}

/** Key of an event row. */
export function historyEventKey(path: string, eventId: string): TableKey {
  return { pk: historyPartitionKey(path), sk: historyEventSortKey(eventId) };
}

/** The event id of an event row's sort key. */
export function eventIdOfSortKey(sk: string): string {
  return sk.slice(2);
}

/**
 * Whether a subscription with these filter entries receives an event published with `filter`:
 * the rule of a live publish (unfiltered: everyone; filtered: the subscriptions whose values for
 * that filter start with the publish's values, compared by type and value).
 */
export function eventMatches(subscriptionFilters: readonly FilterEntry[], filter: FilterEntry | undefined): boolean {
  if (!filter) return true;
  const entry = subscriptionFilters.find((candidate) => candidate.name === filter.name);
  return entry !== undefined && filter.values.length <= entry.values.length
    && filter.values.every((value, index) => entry.values[index] === value);
}
