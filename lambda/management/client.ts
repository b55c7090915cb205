import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { WebSocketEvent } from '../event';

/** Creates the API Gateway Management API client for an endpoint (the stage's callback URL). */
export type ManagementClientFactory = (endpoint: string) => ApiGatewayManagementApiClient;

const defaultClients = new Map<string, ApiGatewayManagementApiClient>();

/**
 * The default factory: one client per endpoint, reused across invocations. The SDK's own retries
 * are off (`maxAttempts: 1`) because the publisher retries throttling itself with its own bounds.
 */
export const defaultManagementClientFactory: ManagementClientFactory = (endpoint) => {
  let client = defaultClients.get(endpoint);
  if (!client) {
    client = new ApiGatewayManagementApiClient({ endpoint, maxAttempts: 1 });
    defaultClients.set(endpoint, client);
  }
  return client;
};

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isLoopback(domainName: string): boolean {
  const host = domainName.startsWith('[') ? domainName.slice(0, domainName.indexOf(']') + 1) : domainName.split(':')[0];
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || host.startsWith('127.');
}

/**
 * The Management API endpoint of the API that sent `event`: `https://{domainName}/{stage}`
 * (`http://` for a loopback host, so a local gateway works).
 */
export function endpointFromEvent(event: WebSocketEvent): string | undefined {
  const { domainName, stage } = event.requestContext;
  if (!domainName) return undefined;
  const scheme = isLoopback(domainName) ? 'http' : 'https';
  return stage ? `${scheme}://${domainName}/${stage}` : `${scheme}://${domainName}`;
}

/** A Management API endpoint with its client. */
export interface ManagementAccess {
  readonly endpoint: string;
  readonly client: ApiGatewayManagementApiClient;
}

/** Why a PostToConnection failed. */
export type PostFailureKind = 'gone' | 'throttled' | 'payload-too-large' | 'other';

/** A failed Management API call, classified. */
export interface PostFailure {
  readonly kind: PostFailureKind;
  readonly statusCode?: number;
  readonly name: string;
  readonly message: string;
}

/** Classifies an error of the Management API client (by HTTP status first, then by error name). */
export function classifyManagementError(error: unknown): PostFailure {
  const err = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  const statusCode = err?.$metadata?.httpStatusCode;
  const name = err?.name ?? 'Error';
  const message = err?.message ?? String(error);
  let kind: PostFailureKind = 'other';
  if (statusCode === 410 || name === 'GoneException') kind = 'gone';
  else if (statusCode === 429 || /LimitExceeded|Throttl|TooManyRequests/.test(name)) kind = 'throttled';
  else if (statusCode === 413 || name === 'PayloadTooLargeException') kind = 'payload-too-large';
  return { kind, statusCode, name, message };
}

/** Sends one frame to a connection. Resolves `undefined` on success, the classified failure otherwise. */
export async function postToConnection(
  client: ApiGatewayManagementApiClient, connectionId: string, frame: string,
): Promise<PostFailure | undefined> {
  try {
    await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(frame) }));
    return undefined;
  } catch (error) {
    return classifyManagementError(error);
  }
}

/** Closes a connection. A connection that is already gone is not an error. */
export async function deleteConnection(client: ApiGatewayManagementApiClient, connectionId: string): Promise<PostFailure | undefined> {
  try {
    await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    return undefined;
  } catch (error) {
    const failure = classifyManagementError(error);
    return failure.kind === 'gone' ? undefined : failure;
  }
}
