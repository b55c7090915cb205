import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LambdaStyleHandler, LocalWebSocketEvent } from './events';
import type { LocalLogger } from './logger';
import type { ManagementExchange, ManagementFaultInjector, ManagementRateLimit } from './management-api';

/** The three handlers of a WebSocket API, as `TrpcSubscriptionApi` wires them. */
export interface LocalGatewayHandlers {
  /** The `$connect` route's handler. */
  readonly connect: LambdaStyleHandler;
  /** The `$default` route's handler (two-way: a returned `body` is sent to the client). */
  readonly handler: LambdaStyleHandler;
  /** The `$disconnect` route's handler. */
  readonly disconnect: LambdaStyleHandler;
}

/**
 * Emulates a Lambda REQUEST authorizer on `$connect`: receives the `$connect` event and returns the
 * authorizer context (placed at `requestContext.authorizer`), or throws to refuse the connection.
 * A thrown error's numeric `statusCode` property picks the HTTP status; otherwise 401.
 */
export type LocalAuthorizer = (event: LocalWebSocketEvent) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** Options of {@link startLocalGateway}. */
export interface LocalGatewayOptions {
  /** The handlers to invoke for `$connect`, `$default` and `$disconnect`. */
  readonly handlers: LocalGatewayHandlers;
  /**
   * TCP port.
   * @default - a free port chosen by the operating system
   */
  readonly port?: number;
  /**
   * Interface to listen on.
   * @default '127.0.0.1'
   */
  readonly host?: string;
  /**
   * Stage name: the management endpoint is `http://{host}:{port}/{stage}`.
   * @default 'prod'
   */
  readonly stage?: string;
  /**
   * Close a connection that received no message for this long (1001 `Going away`).
   * @default 600000 (API Gateway's 10-minute idle timeout)
   */
  readonly idleTimeoutMs?: number;
  /**
   * Close every connection this long after it opened (1001 `Going away`).
   * @default 7200000 (API Gateway's 2-hour connection duration)
   */
  readonly maxConnectionMs?: number;
  /**
   * Invoke a connection's messages concurrently, each after a random delay, so tests can prove the
   * handlers do not rely on ordering. Real API Gateway promises no ordering across invocations;
   * the default (one invocation at a time per connection, in arrival order) is the friendlier case.
   * @default false
   */
  readonly unordered?: boolean | UnorderedOptions;
  /**
   * Emulate a Lambda authorizer on `$connect`.
   * @default - no authorizer
   */
  readonly authorizer?: LocalAuthorizer;
  /**
   * Repeat the authorizer's context on MESSAGE and DISCONNECT events. Whether API Gateway does is
   * not documented clearly, so by default it appears on `$connect` only: handlers must persist it.
   * @default false
   */
  readonly authorizerOnEveryRoute?: boolean;
  /**
   * Answer chosen management API requests with faults (e.g. 429, 500).
   * @default - no faults
   */
  readonly faults?: ManagementFaultInjector;
  /**
   * Where progress and handler errors go.
   * @default - warnings and errors to stderr
   */
  readonly logger?: LocalLogger;
  /**
   * Also log, at `info`, what the connections do, read from their frames: subscriptions started,
   * stopped and refused, queries and mutations with their outcome, and each publish with the
   * subscriptions it reached and those whose connection was gone (what `dev` prints).
   * @default false
   */
  readonly logActivity?: boolean;
  /**
   * Account-wide rate limit of the management API (`@connections`): 429 beyond it, as API
   * Gateway's account quota (10,000 per second by default on AWS).
   * @default - no limit
   */
  readonly managementRateLimit?: ManagementRateLimit;
  /**
   * Latency added to every management API request, in milliseconds (a call to API Gateway from
   * Lambda takes tens of milliseconds; loopback takes a fraction of one).
   * @default 0
   */
  readonly managementLatencyMs?: number;
  /**
   * Receives what the gateway sees (connections opening and closing, client frames, the end of each
   * `$default` invocation, every `@connections` request with its answer), e.g. for the `dev`
   * console. Called synchronously; an error it throws is logged and changes nothing.
   * @default - nobody listens
   */
  readonly onTraffic?: (traffic: GatewayTraffic) => void;
  /**
   * Serves other HTTP requests on the gateway's port (e.g. the `dev` console's page): return true
   * when the request was taken; anything else goes to the Management API.
   * @default - the Management API only
   */
  readonly onHttpRequest?: (request: IncomingMessage, response: ServerResponse) => boolean;
}

/** One thing the local gateway saw, with when (epoch milliseconds). */
export type GatewayTraffic = { readonly at: number } & (
  /** A WebSocket connection was accepted (`$connect` succeeded). */
  | { readonly type: 'connected'; readonly connectionId: string; readonly connectedAt: number; readonly sourceIp: string; readonly userAgent?: string }
  /** A connection closed (`$disconnect` follows). */
  | { readonly type: 'disconnected'; readonly connectionId: string; readonly code: number; readonly reason: string }
  /** A client sent a frame (binary frames as base64, flagged). */
  | { readonly type: 'message'; readonly connectionId: string; readonly body: string; readonly isBase64Encoded: boolean }
  /** The route response of a `$default` invocation, sent to the client as one frame. */
  | { readonly type: 'reply'; readonly connectionId: string; readonly body: string }
  /** A `$default` invocation of the connection ended (its store writes are done). */
  | { readonly type: 'handled'; readonly connectionId: string }
  /** A Management API request (PostToConnection, GetConnection, DeleteConnection) and its answer. */
  | ({ readonly type: 'management' } & ManagementExchange)
);

/** Options of the `unordered` mode. */
export interface UnorderedOptions {
  /**
   * Upper bound of the random delay before each invocation.
   * @default 25
   */
  readonly maxDelayMs?: number;
  /**
   * Source of randomness in [0, 1) (pass a seeded generator for reproducible runs).
   * @default Math.random
   */
  readonly random?: () => number;
}

/** A running local gateway. */
export interface LocalGateway {
  /** WebSocket URL for clients: `ws://{host}:{port}` (`/{stage}` is accepted too). */
  readonly url: string;
  /** Management API endpoint for `ApiGatewayManagementApiClient`: `http://{host}:{port}/{stage}`. */
  readonly endpoint: string;
  /** The TCP port. */
  readonly port: number;
  /** The stage name. */
  readonly stage: string;
  /** Connections without a socket, for broadcasts larger than this machine's sockets. */
  readonly virtualConnections: VirtualConnections;
  /** Ids of the open connections. */
  connections(): string[];
  /**
   * Write the activity lines still being collected now (a publish's line waits `100` ms for more
   * of its deliveries), e.g. before a shutdown stops printing them. Nothing without `logActivity`.
   */
  flushActivity(): void;
  /**
   * Close every connection (firing `$disconnect` for each), stop the server and resolve once all
   * handler invocations have finished.
   */
  close(): Promise<void>;
}

/**
 * Connections that exist only in the gateway: the management API accepts posts to them (under
 * the same rate limit and latency) and keeps what they received; no handler runs for them.
 */
export interface VirtualConnections {
  /** Opens `count` virtual connections; returns their ids. */
  add(count: number): string[];
  /** The frames a virtual connection received, in order. */
  received(connectionId: string): readonly string[];
  /** Frames received by all virtual connections. */
  totalReceived(): number;
  /** Closes a virtual connection (later posts get 410). */
  remove(connectionId: string): void;
}
