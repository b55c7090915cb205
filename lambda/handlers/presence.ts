import { connectionKeyOf } from './connection-key';
import type { RequestContext } from './context';
import type { FrameSender } from './resume';
import type { Runtime } from './runtime';
import { MAX_MESSAGE_BYTES } from '../constants';
import { memberJson, splitSync, syncEvent, toPresenceMember, type SyncEvent } from '../core/presence';
import { buildDataFrames, PayloadTooLargeError } from '../protocol/encode';
import { roomKey } from '../store/presence';
import type { SubscriptionRecord } from '../store/store';

/**
 * A new subscription of a presence route joins its room: its ref is stored on the member's row
 * (the connection's key, else its connection id); the room's subscribers get `join` when the member
 * was not in the room; then the subscriber gets the room's `sync` (in parts when it is larger than
 * one WebSocket message). Both happen before `started`,
 * after the subscription is stored: a member that joins or leaves meanwhile reaches it as an event,
 * and the versions tell the client which of the sync and the event is newer (`applyPresence`).
 */
export async function joinPresence(
  rt: Runtime, request: RequestContext, record: SubscriptionRecord, ctx: unknown, send: FrameSender | undefined,
): Promise<void> {
  const settings = rt.config.presence?.get(record.path);
  if (!settings) return;
  const entry = record.filters.find((filter) => filter.name === settings.filter.name);
  const rows = rt.store().presence?.();
  if (!entry || !rows) {
    throw new Error(`Presence of "${record.path}": the store keeps no presence (use the dynamodb() store)`);
  }
  const room = roomKey(record.path, entry.name, entry.values);
  const member = memberJson(settings, ctx);
  const joined = await rows.join({
    room,
    path: record.path,
    values: entry.values,
    // The key of the ctx `createContext` built (the connection row gets it only once its params arrived).
    key: request.connection.key ?? connectionKeyOf(rt.config, request.ctx) ?? record.connectionId,
    member,
    connectionId: record.connectionId,
    subscriptionId: record.subscriptionId,
    expireAt: record.expireAt,
  });
  if (joined.outcome !== 'stored') return;
  // The joining connection learns of its own join from the sync.
  if (joined.joined) await rt.config.presenceDelivery?.(record.path, entry, { type: 'join', member: toPresenceMember(joined.row) }, record.connectionId);
  if (!send) return;
  const sync = syncEvent(await rows.members(room));
  // A large room does not fit in one WebSocket message: several `sync` events, merged by the client.
  const frameOf = (part: SyncEvent) => buildDataFrames(rt, record.path, part, undefined)(record.subscriptionId, record.jsonrpc);
  const fits = (part: SyncEvent): boolean => {
    try {
      return Buffer.byteLength(frameOf(part)) <= MAX_MESSAGE_BYTES;
    } catch (error) {
      if (error instanceof PayloadTooLargeError) return false;
      throw error;
    }
  };
  for (const part of splitSync(sync, fits, SYNC_PART_BUDGET_BYTES)) await send(frameOf(part));
}

/** What a sync part's entries may add up to (JSON bytes): the message limit less the frame's envelope and the transformer's. */
const SYNC_PART_BUDGET_BYTES = MAX_MESSAGE_BYTES - 16 * 1024;
