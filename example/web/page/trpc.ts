/** The typed TanStack Query integration of the chat router (`useTRPC()` in components). */
import { createTRPCContext } from '@trpc/tanstack-react-query';
import type { ChatRouter } from '../chat-router';

export const { TRPCProvider, useTRPC } = createTRPCContext<ChatRouter>();
