/**
 * The API Gateway WebSocket event, reduced to what the handlers read (structurally compatible
 * with `APIGatewayProxyWebsocketEventV2` and the `$connect` event that adds headers and query).
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html
 */
export interface WebSocketEvent {
  readonly requestContext: {
    readonly connectionId: string;
    readonly routeKey?: string;
    readonly eventType?: string;
    readonly domainName?: string;
    readonly stage?: string;
    /** Epoch milliseconds. */
    readonly connectedAt?: number;
    readonly requestTimeEpoch?: number;
    readonly messageId?: string;
    /** API Gateway's id of this request (also in the stage's access log). */
    readonly requestId?: string;
    readonly identity?: { readonly sourceIp?: string };
    readonly authorizer?: unknown;
    readonly disconnectStatusCode?: number;
    readonly disconnectReason?: string;
  };
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  /** `$connect` only. */
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  /** `$connect` only. */
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>> | null;
}

/** What a handler returns to API Gateway. On the two-way `$default` route `body` is sent as one frame. */
export interface WebSocketResult {
  readonly statusCode: number;
  readonly body?: string;
}

/** A Lambda handler for one WebSocket route. */
export type WebSocketHandler = (event: WebSocketEvent, context?: unknown) => Promise<WebSocketResult>;
