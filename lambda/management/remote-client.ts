/**
 * Management API clients for other Regions' APIs. A Region that is down or cut off must not hold
 * a publish until the Lambda times out, so these clients give up on a connection after
 * {@link REMOTE_CONNECTION_TIMEOUT_MS} and on a request after {@link REMOTE_REQUEST_TIMEOUT_MS}.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { ManagementClientFactory } from './client';

/** Longest wait for a TCP/TLS connection to another Region's API. */
export const REMOTE_CONNECTION_TIMEOUT_MS = 1_000;

/** Longest wait for another Region's API to answer one request. */
export const REMOTE_REQUEST_TIMEOUT_MS = 2_500;

const remoteClients = new Map<string, ApiGatewayManagementApiClient>();

/** One client per endpoint, reused across invocations; no SDK retries (the publisher retries throttling). */
export const remoteManagementClientFactory: ManagementClientFactory = (endpoint) => {
  let client = remoteClients.get(endpoint);
  if (!client) {
    client = new ApiGatewayManagementApiClient({
      endpoint,
      maxAttempts: 1,
      requestHandler: { connectionTimeout: REMOTE_CONNECTION_TIMEOUT_MS, requestTimeout: REMOTE_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
    });
    remoteClients.set(endpoint, client);
  }
  return client;
};
