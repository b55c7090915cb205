import type { WebSocketEvent } from '../../../lambda';

/** An API Gateway `$connect` event. */
export function connectEvent(connectionId: string, query?: Record<string, string>, domainName = '127.0.0.1:1'): WebSocketEvent {
  return {
    requestContext: { connectionId, routeKey: '$connect', eventType: 'CONNECT', domainName, stage: 'test', connectedAt: Date.now(), identity: { sourceIp: '127.0.0.1' } },
    headers: { 'Sec-WebSocket-Key': 'x', 'Authorization': 'secret' },
    queryStringParameters: query ?? null,
  };
}

/** An API Gateway `$default` (MESSAGE) event carrying a text frame. */
export function messageEvent(connectionId: string, body: unknown, domainName = '127.0.0.1:1'): WebSocketEvent {
  return {
    requestContext: { connectionId, routeKey: '$default', eventType: 'MESSAGE', domainName, stage: 'test', messageId: 'm' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** An API Gateway `$disconnect` event. */
export function disconnectEvent(connectionId: string): WebSocketEvent {
  return { requestContext: { connectionId, routeKey: '$disconnect', eventType: 'DISCONNECT', disconnectStatusCode: 1000 } };
}
