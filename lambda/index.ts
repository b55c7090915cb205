/**
 * The Lambda runtime of cdk-trpc-subscriptions (`cdk-trpc-subscriptions/lambda`): tRPC v11
 * subscriptions over API Gateway WebSockets with a DynamoDB store and a type-safe publisher.
 */
export { initSubscriptions, type Subscriptions } from './app/init';
export type {
  ConnectionsControl,
  ConnectionTarget,
  Publisher,
  PublisherRoutes,
  PublishArgs,
  StopArgs,
  RouteFilterBuilder,
  RoutePublisher,
  RoutePresence,
  RoutePresenceOf,
  RouteEventPublisher,
  EventPublishRoutes,
  EventMapping,
  WorkerBuilderOptions,
  FilterRoutes,
  StoreOptions,
  SubscriptionsBuilder,
} from './app/builder';
export type {
  CreateContextFn,
  CreateContextOptions,
  OnErrorFn,
  OnErrorOptions,
  SubscriptionsRouterOptions,
} from './core/config';
export type { Logger } from './util/logger';
export type { MetricsOptions } from './util/emf';
export { RUNTIME_METRICS, type RuntimeMetricKey } from './metric-names';
export type { SubscriptionResolver, SubscriptionIterable, SubscriptionTypes } from './core/resolver';
export type { RouteResolver } from './core/resolver';
export type { InitialState, InitialStateArgs, InitialStateItem, RouteOptions } from './core/route-options';
export type { ScalarValue } from './core/types';
export type { WebSocketEvent, WebSocketHandler, WebSocketResult } from './event';
export type {
  BaseHandlerOptions,
  ConnectHandlerOptions,
  DisconnectHandlerOptions,
  MessageHandlerOptions,
} from './handlers/options';
export type { ManagementClientFactory } from './management/client';
export type { PublisherOptions, RetryOptions, TimeoutOptions } from './publisher/options';
export { PayloadTooLargeError } from './protocol/encode';
export type { PublishFailure, PublishResult, RegionPublishResult } from './publisher/fan-out';
export type { RegionsOptions } from './core/regions';
export type { ConnectionFailure, ConnectionsResult, StopResult } from './publisher/control';
export type { RolloverHandler, RolloverOptions, RolloverResult } from './publisher/rollover';
export { dynamodb, type ConsumedCapacityReport, type DynamoDBStoreOptions, type StoreOperation } from './store/dynamodb';
export { memory, type MemoryStore, type MemoryStoreOptions } from './store/memory';
export type * from './store/store';
export { ENDPOINT_ENV, QUEUE_URL_ENV, REGION_ENDPOINTS_ENV, REGION_ENV, STORE_ENV, TABLE_NAME_ENV, WORKER_RATE_ENV } from './constants';
export type { EnqueueResult } from './publisher/enqueue';
export type { WorkerOptions } from './worker/options';
export type { EventPublish, EventPublishes } from './worker/events';
export type { DeliveryTarget, EventBridgeEvent } from './queue/messages';
export type { QueueBatchResponse, QueueEvent, QueueHandler, QueueRecord } from './queue/sqs-event';
export { QueueMessageTooLargeError } from './queue/sqs';
export type { CutBatch, DeliveryClaim, DeliveryLedger, SplitClaim } from './store/ledger';
export { dynamodbLedger, type DynamoDBLedgerOptions } from './store/dynamodb-ledger';
export { memoryLedger } from './store/memory-ledger';
export type { HistoryAppend, HistoryEventRecord, HistoryFence } from './store/history';
export { DEFAULT_HISTORY_RETENTION_SECONDS, type HistoryOptions } from './core/history';
export {
  DEFAULT_LEAVE_GRACE_MS, type PresenceAbsence, type PresenceDef, type PresenceEvent, type PresenceFilterOf, type PresenceMember,
  type PresenceMemberOf, type PresenceOptions, type RoomOf,
} from './core/presence';
export type { PresenceJoin, PresenceJoinResult, PresenceMemberRow, PresenceRows, ReleasedMember, RoomKey } from './store/presence';
export {
  MAX_HOOK_STATE_BYTES,
  type ConnectHookArgs,
  type ConnectionHooks,
  type DisconnectHookArgs,
  type DisconnectReason,
  type HookState,
  type RouteHooks,
  type SubscribeHookArgs,
  type UnsubscribeHookArgs,
  type UnsubscribeReason,
} from './core/hooks';
// Type-level building blocks of the typed filter and publish API, exported so that they are
// documented (API.md) and nameable in users' code.
export type * from './core/types';
export type { AnySubscriptionTypes, ResolverOptions, subscriptionTypes } from './core/resolver';
export type { ConnectionKeyOption, RouterOptionsBase } from './core/config';
