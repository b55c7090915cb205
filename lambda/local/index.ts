/**
 * Local development tools (`cdk-trpc-subscriptions/local`): an API Gateway WebSocket emulator,
 * DynamoDB Local helpers and the dev server behind the `dev` command. Never imported by the
 * Lambda runtime. The command line itself (argument parsing, usage text) is not part of the API.
 */
export {
  startLocalGateway,
  type GatewayTraffic,
  type LocalAuthorizer,
  type LocalGateway,
  type LocalGatewayHandlers,
  type LocalGatewayOptions,
  type UnorderedOptions,
  type VirtualConnections,
} from './gateway';
export {
  startLocalQueue, type DeadLetter, type LocalQueue, type LocalQueueEvent, type LocalQueueHandler, type LocalQueueOptions, type LocalQueueRequest,
  type LocalQueueStats,
} from './queue';
export type {
  LocalWebSocketEvent, LocalWebSocketRequestContext, LocalRouteKey, LambdaStyleHandler, LambdaContext, LambdaCallback,
} from './events';
export type {
  ManagementErrorFault, ManagementExchange, ManagementFault, ManagementFaultInjector, ManagementRateLimit, ManagementRequest,
} from './management-api';
export { silentLogger, stderrLogger, type LocalLogger } from './logger';
export {
  createSubscriptionTable,
  DynamoDBLocalError,
  LOCAL_AWS_SETTINGS,
  startDynamoDBLocal,
  type CreateSubscriptionTableOptions,
  type DynamoDBLocal,
  type DynamoDBLocalFailure,
  type StartDynamoDBLocalOptions,
} from './dynamodb-local';
export { devEnvironment, startDevServer, type DevServer, type DevServerOptions } from './dev-server';
export { HandlersLoadError, loadHandlers, type HandlerExportNames, type LoadedHandlers } from './load-handlers';
export { watchFiles, type FileWatcher } from './watch-files';
export { createLocalConsole, type LocalConsole, type LocalConsoleOptions } from './console/console';
export {
  dynamodbStoreReader, memoryStoreReader, type ConsoleStoreReader, type DynamoDBReaderOptions, type RouteFilter, type StoredSubscription,
} from './console/store-reader';
export type { FilterFieldView } from './console/view';
