/**
 * Local development tools (`cdk-trpc-subscriptions/local`): an API Gateway WebSocket emulator,
 * DynamoDB Local helpers and the pieces of the `dev` command. Never imported by the Lambda runtime.
 */
export * from './gateway';
export type { LocalWebSocketEvent, LocalWebSocketRequestContext, LocalRouteKey, LambdaStyleHandler } from './events';
export type { ManagementFault, ManagementFaultInjector, ManagementRequest } from './management-api';
export * from './logger';
export * from './dynamodb-local';
