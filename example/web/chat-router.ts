/**
 * The web example's tRPC router (Lambda side): chat rooms, a "someone is typing" indicator and
 * messages a page can resume after a dropped connection. Imports only the package's public entry
 * point `cdk-trpc-subscriptions/lambda` (here `../../lambda`).
 */
import { initTRPC, tracked } from '@trpc/server';
import superjson from 'superjson';
// zod/mini keeps the handler bundle small (docs/performance.md, handler cost).
import * as z from 'zod/mini';
import { MAX_MESSAGE_LENGTH, MAX_NAME_LENGTH } from './limits';
import { memoryMessageLog, type ChatMessage, type MessageLog } from './message-log';
import { initSubscriptions, type CreateContextOptions, type PresenceEvent, type PublishResult } from '../../lambda';

export type { ChatMessage } from './message-log';

/** ctx of every request of the chat. */
export interface ChatContext {
  /** Who is connected (`connectionParams.userId`). */
  readonly userId: string;
  /** The room the page is in (`connectionParams.room`): the typing indicator's ctx filter. */
  readonly room: string;
  /** The API Gateway connection, to exclude the sender from its own broadcasts. */
  readonly connectionId: string;
}

/** What the members of a room see of each other. */
export interface ChatMember {
  readonly userId: string;
}

/** Who started or stopped typing. */
export interface TypingEvent {
  readonly userId: string;
  readonly typing: boolean;
}

const name = z.string().check(z.minLength(1), z.maxLength(MAX_NAME_LENGTH));

export const chatSubscriptions = initSubscriptions();

const t = initTRPC.context<ChatContext>().create({ transformer: superjson });

/** How many of a room's messages a page that opens it receives. */
const RECENT_MESSAGES = 50;

/** The history of every room (see message-log.ts for why it is in memory). */
export const messageLog: MessageLog = memoryMessageLog();

export const chatRouter = t.router({
  /**
   * Messages of a room, tracked: each carries its id. The initial state is the room's recent
   * messages; a reconnecting client resubscribes with the last id it saw as `lastEventId`, and its
   * initial state is then what it missed (the route keeps no `.history()`: `initial` runs on every
   * subscribe, as a tRPC generator would).
   */
  onMessage: t.procedure
    .input(z.object({ room: name, lastEventId: z.nullish(z.string()) }))
    .subscription(chatSubscriptions.trackedResolver<ChatMessage>().with({
      initial: ({ input }) => messageLog.after(input.room, input.lastEventId ?? undefined, input.lastEventId ? undefined : RECENT_MESSAGES)
        .map((message) => tracked(message.id, message)),
    })),
  chat: t.router({
    /** Who is in a room: its members first, then who joins and leaves (room presence). */
    members: t.procedure.input(z.object({ room: name })).subscription(chatSubscriptions.resolver<PresenceEvent<ChatMember>>()),
    /** Who is typing in the connection's room (ctx filter `inRoom`). */
    onTyping: t.procedure.subscription(chatSubscriptions.resolver<TypingEvent>()),
    /** Tells the others in the room that this user started or stopped typing. */
    typing: t.procedure
      .input(z.object({ typing: z.boolean() }))
      // Annotated: the publisher's type comes from this router (a cycle for inference).
      .mutation(async ({ ctx, input }): Promise<{ readonly delivered: number }> => {
        const result: PublishResult = await chatPublisher.routes.chat.onTyping.publish({
          data: { userId: ctx.userId, typing: input.typing },
          filter: { name: 'inRoom', ctx: { room: ctx.room } },
          excludeConnectionId: ctx.connectionId,
        });
        return { delivered: result.delivered };
      }),
  }),
  /** Sends a message: every subscriber of the room but the sender receives it. */
  sendMessage: t.procedure
    .input(z.object({ room: name, text: z.string().check(z.minLength(1), z.maxLength(MAX_MESSAGE_LENGTH)) }))
    .mutation(async ({ ctx, input }): Promise<ChatMessage> => {
      const { message } = await postMessage({ room: input.room, from: ctx.userId, text: input.text, excludeConnectionId: ctx.connectionId });
      return message;
    }),
});

/** The router's type, for the page's client. */
export type ChatRouter = typeof chatRouter;

/**
 * ctx from the page's `connectionParams` (`{ userId, room }`). The page names its own user: fine
 * for a demo; a real app takes the user from a verified token (a `$connect` authorizer, see
 * docs/security.md).
 */
export function createChatContext({ connectionParams, connectionId }: CreateContextOptions): ChatContext {
  return {
    userId: connectionParams?.userId || 'anon',
    room: connectionParams?.room || 'lobby',
    connectionId,
  };
}

export const chatApp = chatSubscriptions
  // A user's pages are one member of a room (their connections share the key).
  .router({ router: chatRouter, createContext: createChatContext, connectionKey: (ctx) => `user:${ctx.userId}` })
  .routes.onMessage.filter({ name: 'byRoom', input: { room: true } })
  .routes.chat.onTyping.filter({ name: 'inRoom', ctx: { room: true } })
  .routes.chat.members.filter({ name: 'byRoom', input: { room: true } })
  .routes.chat.members.presence({ filter: 'byRoom', member: (ctx) => ({ userId: ctx.userId }) });

/** Inside `$default` it reuses the invocation's store and endpoint. */
const chatPublisher = chatApp.publisher();

/** What {@link postMessage} takes. */
export interface PostMessageArgs {
  readonly room: string;
  readonly from: string;
  readonly text: string;
  /**
   * Don't deliver to this connection (the sender).
   * @default - every subscriber of the room
   */
  readonly excludeConnectionId?: string;
  /**
   * The publisher to use (e.g. one made outside `$default`, with its own store and endpoint).
   * @default - the module's publisher
   */
  readonly publisher?: ChatPublisher;
}

/** A publisher of the chat. */
export type ChatPublisher = ReturnType<typeof chatApp.publisher>;

/** Stores a message in the history and publishes it, tracked by its id, to the room. */
export async function postMessage(args: PostMessageArgs): Promise<{ readonly message: ChatMessage; readonly result: PublishResult }> {
  const message = messageLog.append({ room: args.room, from: args.from, text: args.text, at: new Date() });
  const publisher = args.publisher ?? chatPublisher;
  const result = await publisher.routes.onMessage.publish({
    data: message,
    id: message.id,
    filter: { name: 'byRoom', input: { room: message.room } },
    excludeConnectionId: args.excludeConnectionId,
  });
  return { message, result };
}
