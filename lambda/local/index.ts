/**
 * Local development tools (`cdk-trpc-subscriptions/local`): an API Gateway WebSocket emulator,
 * DynamoDB Local helpers and the pieces of the `dev` command. Never imported by the Lambda runtime.
 */
export * from './gateway';
export type { LocalWebSocketEvent, LocalWebSocketRequestContext, LocalRouteKey, LambdaStyleHandler } from './events';
export type { ManagementFault, ManagementFaultInjector, ManagementRequest } from './management-api';
export * from './logger';
export * from './dynamodb-local';
export * from './dev-server';
export * from './dev-args';
export { runCli, type CliOutput } from './dev-cli';
export * from './load-handlers';
export { watchFiles, type FileWatcher } from './watch-files';
