import type { SubscriptionsConfig } from '../core/config';
import { publishFilterEntry, type FilterConfig, type PublishFilter } from '../core/filters';
import { isInRoom, toPresenceMember, type PresenceDelivery, type PresenceMember, type PresenceSettings } from '../core/presence';
import type { PublisherOptions } from '../publisher/options';
import { createPublishFn, type PublishFn } from '../publisher/publisher';
import type { PublisherSettings } from '../publisher/settings';
import { roomKey, type PresenceMemberRow } from '../store/presence';
import type { FilterValue } from '../store/store';

/**
 * The config with its presence events wired to a publisher of the app, when it has presence
 * routes. `options` are those of the role that removes connections and sends the leaves (a
 * producer's `publisher()`, the worker, the rollover): its leaves go out through the same store,
 * endpoint and client as its removals. Without them, the invocation's store and Management API
 * inside `$default` and `$disconnect`, the environment's elsewhere.
 */
export function withPresenceDelivery(config: SubscriptionsConfig, options: PublisherOptions = {}): SubscriptionsConfig {
  if (!config.presence?.size) return config;
  let publish: PublishFn | undefined;
  const delivery: PresenceDelivery = async (path, filter, event, excludeConnectionId) => {
    const settings = config.presence!.get(path)!;
    publish ??= createPublishFn(wired, options);
    await publish(path, { data: event, filter: publishFilterOf(settings.filter, filter.values), excludeConnectionId });
  };
  const wired: SubscriptionsConfig = { ...config, presenceDelivery: delivery };
  return wired;
}

/** A publish filter naming every field of `filter` with `values` (ctx fields first, as stored). */
function publishFilterOf(filter: FilterConfig, values: readonly FilterValue[]): PublishFilter {
  const pick = (fields: readonly string[], offset: number) => Object.fromEntries(fields.map((field, index) => [field, values[offset + index]]));
  return {
    name: filter.name,
    ...(filter.ctx.length > 0 ? { ctx: pick(filter.ctx, 0) } : {}),
    ...(filter.input.length > 0 ? { input: pick(filter.input, filter.ctx.length) } : {}),
  };
}

/** A room as `members()` / `countMembers()` take it: every field of the route's presence filter. */
export interface RoomArgsRuntime {
  readonly ctx?: Readonly<Record<string, unknown>>;
  readonly input?: Readonly<Record<string, unknown>>;
}

/** `members()` and `countMembers()` of `publisher.routes.<path>`. */
export function presenceMethods(config: SubscriptionsConfig, settings: PublisherSettings): Record<string, (route: string, arg: unknown) => unknown> {
  const read = async (path: string, room: unknown): Promise<PresenceMemberRow[]> => {
    const presence = presenceOf(config, path);
    const values = roomValues(config, presence, room);
    const rows = settings.store().presence?.();
    if (!rows) throw new Error(`Presence of "${path}": the store keeps no presence (use the dynamodb() store)`);
    return (await rows.members(roomKey(path, presence.filter.name, values))).filter(isInRoom);
  };
  return {
    members: async (path, room): Promise<Array<PresenceMember<unknown>>> => (await read(path, room)).map(toPresenceMember),
    countMembers: async (path, room): Promise<number> => (await read(path, room)).length,
  };
}

function presenceOf(config: SubscriptionsConfig, path: string): PresenceSettings {
  const presence = config.presence?.get(path);
  if (!presence) throw new Error(`Presence of "${path}": the route has no presence; declare it with .routes.${path}.presence({ filter, member })`);
  return presence;
}

/** @throws Error naming the route unless `room` gives every field of the presence filter */
function roomValues(config: SubscriptionsConfig, presence: PresenceSettings, room: unknown): FilterValue[] {
  const { path, filter } = presence;
  const given = (room ?? {}) as RoomArgsRuntime;
  const entry = publishFilterEntry(path, config.filters.get(path) ?? [], { ...given, name: filter.name });
  const fields = filter.ctx.length + filter.input.length;
  if (entry.values.length !== fields) {
    throw new Error(`Presence of "${path}": a room needs every field of filter "${filter.name}" (${[...filter.ctx, ...filter.input].join(', ')}), got ${entry.values.length} of ${fields}`);
  }
  return [...entry.values];
}
