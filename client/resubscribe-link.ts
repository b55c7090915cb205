/**
 * A client-side link that keeps subscriptions alive across a race of the stock WebSocket client:
 * when the server closes a connection right after it opened (API Gateway's 2-hour cut or idle
 * timeout, a deploy, a refused upgrade), `@trpc/client` 11 may send on the closing socket and end
 * a subscription with "Active connection is not open" instead of sending it again on the next
 * socket. This link subscribes again, from the last tracked event id, so a route with a history
 * replays what was missed (docs/runtime.md, "Resuming after a dropped connection").
 *
 * Browser-safe: it imports only `@trpc/client` and `@trpc/server/observable` (which
 * `@trpc/client` itself uses), never the Lambda runtime.
 */
import type { TRPCClientError, TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { observable, type Unsubscribable } from '@trpc/server/observable';

/** Options of {@link resubscribeLink}. */
export interface ResubscribeLinkOptions {
  /**
   * Resubscribes in a row (without a `started` in between) before the error reaches the
   * subscription's `onError`: a failure that repeats is not the race this link is for.
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * Milliseconds to wait before the n-th resubscribe in a row (n from 1).
   * @default - 0 for the first, then 100 ms doubling up to 2000 ms
   */
  readonly retryDelayMs?: (attempt: number) => number;
}

/**
 * True when a subscription's error did not come from the server (no error shape): the client's
 * connection failed under it. Errors the server sent (`FORBIDDEN`, "History expired", a
 * server-side `stop({ error })`) carry a shape and are never retried.
 */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  return (error as Partial<TRPCClientError<AnyTRPCRouter>>).shape === undefined;
}

/** The input of a resubscribe: the original input with the last tracked event id, as tRPC's own links send it. */
function withLastEventId(input: unknown, lastEventId: string): unknown {
  if (input !== undefined && input !== null && typeof input !== 'object') return input;
  return { ...(input ?? {}), lastEventId };
}

/** 0, then 100 ms doubling up to 2 s. */
function defaultRetryDelayMs(attempt: number): number {
  return attempt <= 1 ? 0 : Math.min(100 * 2 ** (attempt - 2), 2000);
}

/**
 * Put it before the `wsLink` (or the `splitLink` holding it): `links: [resubscribeLink(),
 * wsLink({ client })]`. A subscription that fails without a server error is subscribed again
 * (tracked ones with `lastEventId` = the last event id received), up to `maxAttempts` times in a
 * row; a `started` resets the count. Queries and mutations pass through untouched.
 */
export function resubscribeLink<TRouter extends AnyTRPCRouter>(options: ResubscribeLinkOptions = {}): TRPCLink<TRouter> {
  const maxAttempts = options.maxAttempts ?? 5;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 0) {
    throw new RangeError(`\`maxAttempts\` must be a non-negative integer, got: ${String(options.maxAttempts)}`);
  }
  const retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
  return () => ({ op, next }) => {
    if (op.type !== 'subscription') return next(op);
    return observable((observer) => {
      let lastEventId: string | undefined;
      let failuresInARow = 0;
      let current: Unsubscribable | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let disposed = false;
      const attempt = (): void => {
        const input = lastEventId === undefined ? op.input : withLastEventId(op.input, lastEventId);
        current = next({ ...op, input }).subscribe({
          next(envelope) {
            const result = envelope.result as { type?: string; id?: unknown };
            if (result.type === 'started') failuresInARow = 0;
            if ((result.type === undefined || result.type === 'data') && typeof result.id === 'string' && result.id !== '') lastEventId = result.id;
            observer.next(envelope);
          },
          error(error) {
            if (disposed) return;
            if (!isConnectionError(error) || failuresInARow >= maxAttempts) {
              observer.error(error);
              return;
            }
            failuresInARow++;
            timer = setTimeout(attempt, retryDelayMs(failuresInARow));
          },
          complete() {
            observer.complete();
          },
        });
      };
      attempt();
      return () => {
        disposed = true;
        clearTimeout(timer);
        current?.unsubscribe();
      };
    });
  };
}
