import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import type { CfnStage, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';

/**
 * The stage's default access log format: one JSON object per line with the fields that explain
 * a WebSocket request (which connection, which route, what the integration answered and how
 * fast), so CloudWatch Logs Insights can query them by name. No message bodies.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html
 */
export function jsonAccessLogFormat(): AccessLogFormat {
  // Context variables written out: aws-cdk-lib names the WebSocket ones (`AccessLogField
  // .contextConnectionId()`, ...) only in versions above the package's floor (2.200).
  return AccessLogFormat.custom(JSON.stringify({
    requestId: '$context.requestId',
    extendedRequestId: '$context.extendedRequestId',
    requestTime: '$context.requestTime',
    connectionId: '$context.connectionId',
    eventType: '$context.eventType',
    routeKey: '$context.routeKey',
    status: '$context.status',
    sourceIp: '$context.identity.sourceIp',
    integrationStatus: '$context.integrationStatus',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    errorMessage: '$context.error.message',
    authorizerError: '$context.authorizer.error',
  }));
}

/**
 * Turns on the stage's access logs on its CloudFormation resource, as `WebSocketStage`'s own
 * `accessLogSettings` prop does in recent aws-cdk-lib versions: older ones in the accepted range
 * (2.200 among them) ignore that prop, and the stage would deploy without access logs.
 */
export function setAccessLogs(stage: WebSocketStage, destination: ILogGroup, format: AccessLogFormat): void {
  (stage.node.defaultChild as CfnStage).accessLogSettings = { destinationArn: destination.logGroupArn, format: format.toString() };
}
