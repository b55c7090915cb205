/**
 * The page's entry (bundled by esbuild, see ../page-bundle.ts): who the user is and which room
 * come from the URL (`?user=alice&room=lobby`), the API's WebSocket URL from the page's
 * `<meta name="chat-ws-url">`.
 */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ChatApp } from './chat-app';
import { connectChat, type ChatIdentity } from './chat-client';
import { TRPCProvider } from './trpc';

const query = new URLSearchParams(window.location.search);
const identity: ChatIdentity = {
  userId: query.get('user') || `guest-${Math.random().toString(36).slice(2, 6)}`,
  room: query.get('room') || 'lobby',
  url: document.querySelector<HTMLMetaElement>('meta[name="chat-ws-url"]')!.content,
};
const connection = connectChat(identity);
const queryClient = new QueryClient();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={connection.trpcClient} queryClient={queryClient}>
        <ChatApp identity={identity} connection={connection} />
      </TRPCProvider>
    </QueryClientProvider>
  </StrictMode>,
);
