/**
 * Event-fed publishing: the user's mapping from an EventBridge event (delivered to the fan-out
 * queue by a rule) to the publishes it causes, written with typed routes in the handlers entry.
 */
import type { PublishArgsRuntime } from '../publisher/publisher';
import type { EventBridgeEvent } from '../queue/messages';

/** A publish a mapping asks for: made by `routes.<path>.publish(args)` in `worker({ events })`. */
export interface EventPublish {
  /** Procedure path. */
  readonly path: string;
  /** The publish arguments, checked by the route's types. */
  readonly args: PublishArgsRuntime;
}

/** What a mapping returns for one event: nothing, one publish, or several. */
export type EventPublishes = EventPublish | readonly EventPublish[] | undefined | null;

/** The runtime form of a mapping (the typed form is in the builder). @internal */
export type EventMapper = (event: EventBridgeEvent) => EventPublishes | Promise<EventPublishes>;

/** The publishes of one event, as a list. */
export async function publishesOf(mapper: EventMapper | undefined, event: EventBridgeEvent): Promise<readonly EventPublish[]> {
  if (!mapper) throw new Error(`an EventBridge event (${event['detail-type']} from ${event.source}) arrived, but worker() has no \`events\` mapping`);
  const mapped = await mapper(event);
  if (mapped === undefined || mapped === null) return [];
  return Array.isArray(mapped) ? mapped : [mapped as EventPublish];
}
