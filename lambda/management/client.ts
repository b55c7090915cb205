import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DEFAULT_RETRY, DEFAULT_TIMEOUTS, type ManagementCallSettings } from './options';
import type { WebSocketEvent } from '../event';
import { backoffDelayMs } from '../util/backoff';
import { requestHandlerOptions, withDeadline } from '../util/deadline';
import type { RateGate } from '../util/rate-gate';

/** Creates the API Gateway Management API client for an endpoint (the stage's callback URL). */
export type ManagementClientFactory = (endpoint: string) => ApiGatewayManagementApiClient;

const DEFAULT_SETTINGS: ManagementCallSettings = { retry: DEFAULT_RETRY, timeouts: DEFAULT_TIMEOUTS };

/** The error kinds the SDK's standard strategy retries (its retry middleware classifies each error). */
const RETRYABLE_ERROR_TYPES = new Set(['THROTTLING', 'TRANSIENT']);

/** A retry token as the SDK's retry middleware reads it. */
function retryToken(retryCount: number, retryDelay: number) {
  return { getRetryCount: () => retryCount, getRetryDelay: () => retryDelay, getRetryCost: () => undefined };
}

/**
 * The SDK's standard retry decisions (throttling and transient errors: 429, 500/502/503/504, a
 * stale keep-alive socket's ECONNRESET; never 410 or 413) on our bounded full-jitter backoff,
 * except that a timed-out attempt is not retried: PostToConnection is not idempotent, and a request
 * that timed out may have been delivered (a retry would duplicate the message). It implements the
 * SDK's `RetryStrategyV2` interface, which the client's own retry middleware drives (and whose
 * waits the call's abort signal cuts short), because `@smithy/core/retry`'s
 * `ConfiguredRetryStrategy` would add 15.5 KB to every handler bundle (the SDK itself is not
 * bundled). @internal
 */
export function managementRetryStrategy(retry: ManagementCallSettings['retry']) {
  return {
    mode: 'standard',
    acquireInitialRetryToken: async () => retryToken(0, 0),
    refreshRetryTokenForRetry: async (
      token: ReturnType<typeof retryToken>, errorInfo: { errorType: string; error?: { name?: string; message?: string } },
    ) => {
      const attempt = token.getRetryCount() + 1;
      const { error } = errorInfo;
      // The HTTP handler's requestTimeout ("… exceeded the configured N ms requestTimeout") or the
      // call's deadline; a reset socket ("socket hang up", also named TimeoutError by the SDK) is retried.
      const timedOut = /requestTimeout/.test(error?.message ?? '') || error?.name === 'AbortError';
      if (attempt >= retry.maxAttempts || !RETRYABLE_ERROR_TYPES.has(errorInfo.errorType) || timedOut) {
        throw new Error('No retry token available');
      }
      return retryToken(attempt, backoffDelayMs(attempt, retry));
    },
    recordSuccess: () => undefined,
  };
}

/**
 * A Management API client with the SDK's standard retry strategy (throttling, transient 5xx and
 * network errors such as a stale keep-alive socket's ECONNRESET; never 410 or 413) on our bounded
 * full-jitter backoff, and connection and request timeouts on its HTTP handler.
 */
export function createManagementClient(endpoint: string, settings: ManagementCallSettings = DEFAULT_SETTINGS): ApiGatewayManagementApiClient {
  const { retry, timeouts } = settings;
  return new ApiGatewayManagementApiClient({
    endpoint,
    retryStrategy: managementRetryStrategy(retry),
    requestHandler: requestHandlerOptions(timeouts),
  });
}

const defaultClients = new Map<string, ApiGatewayManagementApiClient>();

/**
 * The default factory of a retry and timeout setting: one client per endpoint and setting,
 * reused across invocations.
 */
export function managementClientFactory(settings: ManagementCallSettings = DEFAULT_SETTINGS): ManagementClientFactory {
  return (endpoint) => {
    const key = JSON.stringify([endpoint, settings.retry, settings.timeouts]);
    let client = defaultClients.get(key);
    if (!client) {
      client = createManagementClient(endpoint, settings);
      defaultClients.set(key, client);
    }
    return client;
  };
}

/** The default factory with the default retries and timeouts. */
export const defaultManagementClientFactory: ManagementClientFactory = /* @__PURE__ */ managementClientFactory();

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
  /** `TimeoutError` when the call did not settle within its deadline. */
  readonly name: string;
  readonly message: string;
  /** Attempts the client made (its retry strategy's count), when known. */
  readonly attempts?: number;
}

/** Classifies an error of the Management API client (by HTTP status first, then by error name). */
export function classifyManagementError(error: unknown): PostFailure {
  const err = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; attempts?: number } } | undefined;
  const statusCode = err?.$metadata?.httpStatusCode;
  const attempts = err?.$metadata?.attempts;
  const name = err?.name ?? 'Error';
  const message = err?.message ?? String(error);
  let kind: PostFailureKind = 'other';
  if (statusCode === 410 || name === 'GoneException') kind = 'gone';
  else if (statusCode === 429 || /LimitExceeded|Throttl|TooManyRequests/.test(name)) kind = 'throttled';
  else if (statusCode === 413 || name === 'PayloadTooLargeException') kind = 'payload-too-large';
  return { kind, statusCode, name, message, ...(attempts === undefined ? {} : { attempts }) };
}

/**
 * Sends one frame to a connection within `callTimeoutMs` (retries included). Resolves
 * `undefined` on success, the classified failure otherwise (`TimeoutError` past the deadline).
 */
export async function postToConnection(
  client: ApiGatewayManagementApiClient, connectionId: string, frame: string, callTimeoutMs = DEFAULT_TIMEOUTS.callTimeoutMs,
): Promise<PostFailure | undefined> {
  return (await sendToConnection(client, connectionId, frame, callTimeoutMs)).failure;
}

/** The outcome of sending one frame. */
export interface SendOutcome {
  readonly failure?: PostFailure;
  /** Attempts made (at least 1). */
  readonly attempts: number;
  /** Attempts answered with throttling (429). */
  readonly throttledAttempts: number;
}

/**
 * {@link postToConnection} that also tells how many attempts were made, counted inside the
 * client's retry loop (so a call cut by its deadline still reports them). With a `gate` (the
 * fan-out worker's pacing), each attempt waits for it, and a throttled attempt slows it down.
 */
export async function sendToConnection(
  client: ApiGatewayManagementApiClient, connectionId: string, frame: string, callTimeoutMs = DEFAULT_TIMEOUTS.callTimeoutMs, gate?: RateGate,
): Promise<SendOutcome> {
  let attempts = 0;
  let throttledAttempts = 0;
  const command = new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(frame) });
  // After the retry middleware (finalizeRequest, high priority) and around the deserializer: once
  // per attempt, seeing each attempt's deserialized error.
  command.middlewareStack.add((next) => async (args) => {
    attempts++;
    await gate?.acquire();
    try {
      const output = await next(args);
      gate?.succeeded();
      return output;
    } catch (error) {
      if (classifyManagementError(error).kind === 'throttled') {
        throttledAttempts++;
        gate?.throttled();
      }
      throw error;
    }
  }, { step: 'finalizeRequest', priority: 'low', name: 'trpcSubscriptionsCountAttempts' });
  try {
    await withDeadline(callTimeoutMs, 'PostToConnection', (abortSignal) => client.send(command, { abortSignal }));
    return { attempts, throttledAttempts };
  } catch (error) {
    const failure = classifyManagementError(error);
    return { failure: { ...failure, attempts: Math.max(1, attempts) }, attempts: Math.max(1, attempts), throttledAttempts };
  }
}

/**
 * Closes a connection within `callTimeoutMs`. Resolves `undefined` once it is closed, the
 * classified failure otherwise: `gone` when it was already closed (or never existed on this API).
 */
export async function deleteConnection(
  client: ApiGatewayManagementApiClient, connectionId: string, callTimeoutMs = DEFAULT_TIMEOUTS.callTimeoutMs,
): Promise<PostFailure | undefined> {
  try {
    await withDeadline(callTimeoutMs, 'DeleteConnection', (abortSignal) =>
      client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }), { abortSignal }));
    return undefined;
  } catch (error) {
    return classifyManagementError(error);
  }
}
