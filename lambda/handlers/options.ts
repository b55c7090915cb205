import type { ManagementClientFactory } from '../management/client';
import type { RetryOptions, TimeoutOptions } from '../management/options';
import type { SubscriptionStore } from '../store/store';
import type { MetricsOptions } from '../util/emf';
import type { Logger } from '../util/logger';

/** Options shared by every handler. */
export interface BaseHandlerOptions {
  /**
   * Overrides the store given to `.store()`.
   * @default - the builder's store, else `dynamodb()` (table from `TRPC_SUBSCRIPTIONS_TABLE_NAME`;
   * `memory()` when `TRPC_SUBSCRIPTIONS_STORE=memory`)
   */
  readonly store?: SubscriptionStore;
  /**
   * Receives problems that have no client to go to.
   * @default - JSON lines on stderr (warnings and errors)
   */
  readonly logger?: Logger;
  /**
   * The handler's CloudWatch metrics (Embedded Metric Format lines on stdout).
   * @default - on, with the namespace and dimensions of `TRPC_SUBSCRIPTIONS_METRICS*` (set by
   *   the construct), else namespace 'TrpcSubscriptions' and no dimensions
   */
  readonly metrics?: MetricsOptions;
}

/** Options of `connect()` (`$connect`). */
export interface ConnectHandlerOptions extends BaseHandlerOptions {
  /**
   * Request headers of `$connect` to persist on the connection row for `createContext`
   * (case-insensitive names). None by default: headers often carry secrets (cookies, tokens),
   * and whatever is persisted stays in the table for the connection's lifetime.
   * @default []
   */
  readonly persistHeaders?: readonly string[];
  /**
   * How long the rows of a connection live after it opened (TTL `expireAt`), in whole seconds;
   * at least 7200, API Gateway's 2-hour connection limit.
   * @default - `TRPC_SUBSCRIPTIONS_ROW_TTL_SECONDS`, else 7800 (2 hours 10 minutes)
   */
  readonly rowTtlSeconds?: number;
  /**
   * How a connection is refused when `createContext` throws during `$connect`.
   * `'error-frame'` accepts the connection with its row marked refused: its first frame of
   * requests gets the connection-level error (`{"id":null,"error":...}`) and that error for each
   * request id, as tRPC's ws adapter sends them, then the connection is closed, so
   * `@trpc/client` rejects those requests with the error's code and message. `'http-status'`
   * rejects the upgrade with the error's HTTP status, which browsers do not expose: the stock
   * client then retries every 50 ms with its requests pending.
   * @default 'error-frame'
   */
  readonly refuseWith?: 'error-frame' | 'http-status';
}

/** Options of `handler()` (`$default`). */
export interface MessageHandlerOptions extends BaseHandlerOptions {
  /**
   * Management API endpoint, for replies beyond the route response.
   * @default - `TRPC_SUBSCRIPTIONS_ENDPOINT`, else `https://{domainName}/{stage}` of the event
   */
  readonly endpoint?: string;
  /**
   * Creates the Management API client. Its own retry strategy and HTTP timeouts apply;
   * `timeouts.callTimeoutMs` bounds every call whatever the client.
   * @default - one `ApiGatewayManagementApiClient` per endpoint with `retry` and `timeouts`
   */
  readonly managementClient?: ManagementClientFactory;
  /**
   * Retries of the replies sent with PostToConnection (every frame but the route response, e.g.
   * `started` in a batch) and of DeleteConnection: throttling (429), transient 5xx and network
   * errors, with the SDK's standard retry strategy on this backoff; never 410 or 413.
   * @default - 5 attempts, 50 ms base, 2 s cap, full jitter
   */
  readonly retry?: RetryOptions;
  /**
   * Timeouts of those Management API calls, so that no reply can hang the invocation.
   * @default - connection 1 s, request 3 s, whole call (retries included) 6 s
   */
  readonly timeouts?: TimeoutOptions;
  /**
   * How long a request waits for the connection's `connectionParams` (the client announced them
   * with `connectionParams=1`, but API Gateway may run the request first), in milliseconds.
   * @default 5000
   */
  readonly connectionParamsTimeoutMs?: number;
  /**
   * Connection rows a warm instance keeps once their `connectionParams` are settled, so that a
   * request costs one DynamoDB round trip (and read) less. Settled rows never change; a cached
   * row of a gone connection cannot create rows (the subscribe transaction checks the
   * connection). 0 reads the row for every request.
   * @default 1000
   */
  readonly connectionCacheSize?: number;
  /**
   * Largest accepted `connectionParams` (JSON), in bytes.
   * @default 4096
   */
  readonly maxConnectionParamsBytes?: number;
  /**
   * Most requests accepted in one frame (a JSON array batch). A longer batch is refused with one
   * PAYLOAD_TOO_LARGE error frame (id null) and none of its requests runs: each request costs
   * store writes and, beyond the first, a PostToConnection call. The client batches the requests
   * of one tick, and every active subscription when it resubscribes after a reconnect, so keep
   * this above the subscriptions a client holds at once.
   * @default 100
   */
  readonly maxBatchSize?: number;
  /**
   * Most live subscriptions one connection may hold, a positive integer. A `subscription` beyond
   * it is refused with a TOO_MANY_REQUESTS error frame for its id and writes nothing; a stop frees
   * a slot. A denial-of-service bound: each subscription writes 2 + F rows (F: its filters) that stay
   * until the connection ends or stops it. tRPC apps rarely hold more than a few per client; the
   * default matches `maxBatchSize` because the client resubscribes every active subscription in
   * one batch after a reconnect.
   * @default 100
   */
  readonly maxSubscriptionsPerConnection?: number;
}

/** Options of `disconnect()` (`$disconnect`). */
export type DisconnectHandlerOptions = BaseHandlerOptions;
