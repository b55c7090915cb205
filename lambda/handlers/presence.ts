import { connectionKeyOf } from './connection-key';
import type { RequestContext } from './context';
import type { FrameSender } from './resume';
import type { Runtime } from './runtime';
import { memberJson, syncEvent, toPresenceMember } from '../core/presence';
import { buildDataFrames } from '../protocol/encode';
import { roomKey } from '../store/presence';
import type { SubscriptionRecord } from '../store/store';

/**
 * A new subscription of a presence route joins its room: its ref is stored on the member's row
 * (the connection's key, else its connection id); the room's subscribers get `join` when the member
 * was not in the room; then the subscriber gets the room's `sync`. Both happen before `started`,
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
  await send(buildDataFrames(rt, record.path, sync, undefined)(record.subscriptionId, record.jsonrpc));
}
