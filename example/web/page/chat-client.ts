/**
 * The page's tRPC client: one WebSocket (`createWSClient` + `wsLink`, superjson, keepAlive, and
 * this library's `resubscribeLink`) with the user and room in `connectionParams`, and the
 * connection state for the status indicator.
 */
import { createTRPCClient, createWSClient, wsLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
// In an app: `from 'cdk-trpc-subscriptions/client'`.
import { resubscribeLink } from '../../../client';
import type { ChatRouter } from '../chat-router';

/** What the status indicator shows. */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting';

/** Who the page is and where it connects. */
export interface ChatIdentity {
  readonly userId: string;
  readonly room: string;
  /** The WebSocket URL of the API (the construct's `url`, or the local gateway's). */
  readonly url: string;
}

/** The page's connection to the API. */
export interface ChatConnection {
  readonly trpcClient: TRPCClient<ChatRouter>;
  /** The current status. */
  status(): ConnectionStatus;
  /** Calls `listener` on every status change; returns the unsubscribe function. */
  onStatus(listener: () => void): () => void;
}

/** Opens the page's connection. */
export function connectChat(identity: ChatIdentity): ChatConnection {
  const wsClient = createWSClient({
    url: identity.url,
    connectionParams: { userId: identity.userId, room: identity.room },
    // API Gateway closes a connection idle for 10 minutes; a ping a minute keeps it open. The pong
    // timeout leaves room for a cold start (PING is answered by the `$default` Lambda).
    keepAlive: { enabled: true, intervalMs: 60_000, pongTimeoutMs: 10_000 },
    // Back after a drop within a second or two, never more than 5 s apart.
    retryDelayMs: (attempt) => Math.min(250 * 2 ** attempt, 5_000),
  });
  let status: ConnectionStatus = 'connecting';
  let wasConnected = false;
  const listeners = new Set<() => void>();
  wsClient.connectionState.subscribe({
    next: (state) => {
      if (state.state === 'pending') wasConnected = true;
      status = state.state === 'pending' ? 'connected' : wasConnected ? 'reconnecting' : 'connecting';
      for (const listener of listeners) listener();
    },
  });
  // resubscribeLink: a socket the server closes right after it opened can end a subscription in
  // the stock client ("Active connection is not open"); the link subscribes again.
  const trpcClient = createTRPCClient<ChatRouter>({ links: [resubscribeLink(), wsLink({ client: wsClient, transformer: superjson })] });
  return {
    trpcClient,
    status: () => status,
    onStatus: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
