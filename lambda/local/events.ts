import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { apiGatewayStyleId, formatRequestTime } from './ids';

/** The route keys the emulator invokes (the construct configures no custom routes). */
export type LocalRouteKey = '$connect' | '$default' | '$disconnect';

/**
 * `requestContext` of a WebSocket event as API Gateway sends it to a Lambda proxy integration.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html
 */
export interface LocalWebSocketRequestContext {
  readonly routeKey: LocalRouteKey;
  readonly eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  /** Only on MESSAGE events. */
  readonly messageId?: string;
  readonly extendedRequestId: string;
  /** CLF time, e.g. `09/Feb/2024:13:45:07 +0000`. */
  readonly requestTime: string;
  readonly messageDirection: 'IN';
  readonly stage: string;
  /** Epoch milliseconds. */
  readonly connectedAt: number;
  /** Epoch milliseconds. */
  readonly requestTimeEpoch: number;
  readonly identity: { readonly sourceIp: string; readonly userAgent?: string };
  readonly requestId: string;
  /** `127.0.0.1:{port}` locally (`{api-id}.execute-api.{region}.amazonaws.com` on AWS). */
  readonly domainName: string;
  readonly connectionId: string;
  readonly apiId: string;
  /** What the authorizer returned, when one is configured. */
  readonly authorizer?: Record<string, unknown>;
  /** Only on DISCONNECT events: the WebSocket close code. */
  readonly disconnectStatusCode?: number;
  /** Only on DISCONNECT events: the WebSocket close reason. */
  readonly disconnectReason?: string;
}

/**
 * A WebSocket event as API Gateway sends it (a superset-compatible shape of `@types/aws-lambda`'s
 * `APIGatewayProxyWebsocketEventV2`). Headers and query string come only with `$connect`.
 */
export interface LocalWebSocketEvent {
  readonly requestContext: LocalWebSocketRequestContext;
  readonly headers?: Record<string, string>;
  readonly multiValueHeaders?: Record<string, string[]>;
  readonly queryStringParameters?: Record<string, string>;
  readonly multiValueQueryStringParameters?: Record<string, string[]>;
  /** The frame's text, or base64 of a binary frame. Only on MESSAGE events. */
  readonly body?: string;
  readonly isBase64Encoded: boolean;
}

/**
 * The Lambda invocation context the emulator passes: the members of `Context` in
 * `@types/aws-lambda`, declared here so that this package's types need no `@types/aws-lambda`.
 */
export interface LambdaContext {
  callbackWaitsForEmptyEventLoop: boolean;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  getRemainingTimeInMillis(): number;
  /** @deprecated Lambda's legacy callback; use a returned promise. */
  done(error?: Error, result?: unknown): void;
  /** @deprecated Lambda's legacy callback; use a returned promise. */
  fail(error: Error | string): void;
  /** @deprecated Lambda's legacy callback; use a returned promise. */
  succeed(messageOrObject: unknown): void;
}

/** The callback of a three-parameter Lambda handler (`@types/aws-lambda`'s `Callback`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LambdaCallback = (error?: Error | string | null, result?: any) => void;

/**
 * Any Lambda-style handler: `(event, context, callback) => result | Promise<result>`. The event
 * is typed loosely so that handlers declared with `@types/aws-lambda` types (or the library's
 * own) are accepted as they are; the emulator passes a {@link LocalWebSocketEvent}.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LambdaStyleHandler = (event: any, context: LambdaContext, callback: LambdaCallback) => unknown;

/** What every event of one connection shares. */
export interface ConnectionFacts {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly stage: string;
  readonly apiId: string;
  readonly domainName: string;
  readonly sourceIp: string;
  readonly userAgent?: string;
  readonly authorizer?: Record<string, unknown>;
}

function requestContext(
  facts: ConnectionFacts,
  routeKey: LocalRouteKey,
  eventType: LocalWebSocketRequestContext['eventType'],
  extra: Partial<LocalWebSocketRequestContext> = {},
): LocalWebSocketRequestContext {
  const now = Date.now();
  return {
    routeKey,
    eventType,
    ...(extra.messageId === undefined ? {} : { messageId: extra.messageId }),
    extendedRequestId: apiGatewayStyleId(),
    requestTime: formatRequestTime(now),
    messageDirection: 'IN',
    stage: facts.stage,
    connectedAt: facts.connectedAt,
    requestTimeEpoch: now,
    identity: extra.identity ?? { sourceIp: facts.sourceIp, userAgent: facts.userAgent },
    requestId: apiGatewayStyleId(),
    domainName: facts.domainName,
    connectionId: facts.connectionId,
    apiId: facts.apiId,
    ...(extra.authorizer === undefined ? {} : { authorizer: extra.authorizer }),
    ...(extra.disconnectStatusCode === undefined
      ? {}
      : { disconnectStatusCode: extra.disconnectStatusCode, disconnectReason: extra.disconnectReason ?? '' }),
  };
}

/**
 * The `$connect` event: headers (original case, plus the `X-Forwarded-*` headers API Gateway
 * adds) and the query string, single- and multi-value; both query fields are absent without a
 * query string, as on AWS.
 */
export function buildConnectEvent(facts: ConnectionFacts, request: IncomingMessage): LocalWebSocketEvent {
  const multiValueHeaders: Record<string, string[]> = {};
  for (let index = 0; index < request.rawHeaders.length; index += 2) {
    const name = request.rawHeaders[index];
    (multiValueHeaders[name] ??= []).push(request.rawHeaders[index + 1]);
  }
  const port = facts.domainName.split(':')[1] ?? '80';
  multiValueHeaders['X-Forwarded-For'] ??= [facts.sourceIp];
  multiValueHeaders['X-Forwarded-Port'] ??= [port];
  multiValueHeaders['X-Forwarded-Proto'] ??= ['http'];
  const headers = Object.fromEntries(Object.entries(multiValueHeaders).map(([name, values]) => [name, values.join(',')]));

  const search = new URL(request.url ?? '/', 'http://localhost').searchParams;
  const multiValueQuery: Record<string, string[]> = {};
  for (const [name, value] of search) (multiValueQuery[name] ??= []).push(value);
  const hasQuery = Object.keys(multiValueQuery).length > 0;

  return {
    headers,
    multiValueHeaders,
    ...(hasQuery
      ? {
        // Like API Gateway, the single-value form keeps the last value of a repeated parameter.
        queryStringParameters: Object.fromEntries(Object.entries(multiValueQuery).map(([name, values]) => [name, values[values.length - 1]])),
        multiValueQueryStringParameters: multiValueQuery,
      }
      : {}),
    requestContext: requestContext(facts, '$connect', 'CONNECT', { authorizer: facts.authorizer }),
    isBase64Encoded: false,
  };
}

/** Options of {@link buildMessageEvent}. */
export interface MessageEventOptions {
  /** The frame's payload: text as is, binary as base64. */
  readonly body: string;
  readonly isBase64Encoded: boolean;
  /** Whether to repeat the authorizer's context (see `authorizerOnEveryRoute`). */
  readonly includeAuthorizer: boolean;
}

/** A MESSAGE event for `$default`: body, no headers, no query string. */
export function buildMessageEvent(facts: ConnectionFacts, options: MessageEventOptions): LocalWebSocketEvent {
  return {
    requestContext: requestContext(facts, '$default', 'MESSAGE', {
      messageId: apiGatewayStyleId(),
      identity: { sourceIp: facts.sourceIp },
      authorizer: options.includeAuthorizer ? facts.authorizer : undefined,
    }),
    body: options.body,
    isBase64Encoded: options.isBase64Encoded,
  };
}

/** The `$disconnect` event with the close code and reason. */
export function buildDisconnectEvent(
  facts: ConnectionFacts,
  close: { readonly code: number; readonly reason: string; readonly includeAuthorizer: boolean },
): LocalWebSocketEvent {
  return {
    requestContext: requestContext(facts, '$disconnect', 'DISCONNECT', {
      disconnectStatusCode: close.code,
      disconnectReason: close.reason,
      authorizer: close.includeAuthorizer ? facts.authorizer : undefined,
    }),
    isBase64Encoded: false,
  };
}

/**
 * A Lambda-like context. `getRemainingTimeInMillis` counts down from `timeoutMs` (API Gateway
 * stops waiting for an integration after 29 s); the emulator does not kill slow handlers.
 */
export function createLambdaContext(functionName: string, timeoutMs: number): LambdaContext {
  const deadline = Date.now() + timeoutMs;
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${day}/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Invoke a handler the way the Lambda Node.js runtime does: a returned promise (async handler),
 * or the callback for handlers declaring three parameters, or a synchronous return value.
 */
export function invokeHandler(handler: LambdaStyleHandler, event: LocalWebSocketEvent, context: LambdaContext): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const callback: LambdaCallback = (error, result) => (error ? reject(error) : resolve(result));
    try {
      const returned = handler(event, context, callback);
      if (isPromiseLike(returned)) {
        returned.then(resolve, reject);
      } else if (handler.length < 3) {
        resolve(returned);
      }
    } catch (error) {
      reject(error);
    }
  });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
