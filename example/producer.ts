/**
 * The example's producer Lambda: a backend process that publishes to subscribers.
 *
 * `TrpcSubscriptionApi.grantPublish(producer)` gives it `TRPC_SUBSCRIPTIONS_TABLE_NAME`,
 * `TRPC_SUBSCRIPTIONS_ENDPOINT` and the IAM permissions publishing needs. The runtime's
 * publisher reads both variables, so a producer only needs
 * `appSubscriptions.publisher().routes.onMessage.publish({ data, filter })` from the app's
 * handlers module. This stand-in reports the wiring it received, so the stack can be built and
 * inspected before the app's router exists.
 */
import { ENDPOINT_ENV, TABLE_NAME_ENV } from '../lambda/constants';

/** What the producer was wired to. */
export interface ProducerWiring {
  readonly tableName?: string;
  readonly endpoint?: string;
}

/** Lambda entry point. */
export async function handler(): Promise<ProducerWiring> {
  return { tableName: process.env[TABLE_NAME_ENV], endpoint: process.env[ENDPOINT_ENV] };
}
