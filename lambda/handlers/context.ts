import { setTimeout as sleep } from 'node:timers/promises';
import { TRPCError } from '@trpc/server';
import type { WebSocketEvent } from '../event';
import { ConnectionRefusedError } from './refusal';
import type { Runtime } from './runtime';
import type { ConnectionRecord } from '../store/store';
import { backoffCapMs } from '../util/backoff';

/** The connection and the ctx a request runs with. */
export interface RequestContext {
  readonly connection: ConnectionRecord;
  readonly ctx: unknown;
}

/**
 * Reads the connection row, waiting (bounded, with backoff) while the client's announced
 * `connectionParams` have not been stored: API Gateway does not order the messages of a
 * connection across Lambda invocations, so a request may run before its params.
 * @throws ConnectionRefusedError when the connection was refused (at `$connect` or by its params)
 */
export async function waitForConnection(rt: Runtime, connectionId: string, timeoutMs: number): Promise<ConnectionRecord> {
  const cached = rt.connections.get(connectionId);
  if (cached) return cached;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const connection = await rt.store().getConnection(connectionId);
    if (!connection) {
      throw new TRPCError({
        code: 'PRECONDITION_FAILED',
        message: `Connection ${connectionId} is not registered (closed, or $connect was not handled)`,
      });
    }
    if (connection.refusal !== undefined) throw new ConnectionRefusedError(connection.refusal);
    if (!connection.awaitingConnectionParams) {
      rt.connections.remember(connection);
      return connection;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new TRPCError({
        code: 'TIMEOUT',
        message: `connectionParams were not received within ${timeoutMs} ms of this request`,
      });
    }
    await sleep(Math.min(backoffCapMs(attempt, { baseDelayMs: 20, maxDelayMs: 500 }), remaining));
  }
}

/** Builds ctx for a request from the persisted connection state. */
export async function createRequestContext(
  rt: Runtime, event: WebSocketEvent, timeoutMs: number,
): Promise<RequestContext> {
  const { connectionId } = event.requestContext;
  const connection = await waitForConnection(rt, connectionId, timeoutMs);
  const ctx = rt.config.createContext
    ? await rt.config.createContext({
      event,
      connectionId,
      connectionParams: connection.connectionParams ?? null,
      connect: connection.connect,
    })
    : {};
  return { connection, ctx };
}
