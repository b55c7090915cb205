/**
 * The chat page: rooms, messages (resumed after a dropped connection), who is typing, a composer
 * and the connection status.
 */
import { useMutation } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useCallback, useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore, type FormEvent } from 'react';
import { applyPresence, emptyPresence, type PresenceState } from '../../../client';
import type { ChatMember } from '../chat-router';
import { MAX_MESSAGE_LENGTH } from '../limits';
import type { ChatMessage } from '../message-log';
import type { ChatConnection, ChatIdentity, ConnectionStatus } from './chat-client';
import { readableError } from './readable-error';
import { useTRPC } from './trpc';

/** Rooms listed in the side bar. */
export const ROOMS = ['lobby', 'garden', 'kitchen'] as const;

/** How long after the last keystroke the page says it stopped typing. */
const TYPING_IDLE_MS = 3_000;
/** How long a "typing" event counts when its "stopped" event never comes (a closed tab). */
const TYPING_EXPIRY_MS = 6_000;
/** Closer than this to the bottom of the list counts as reading the newest messages. */
const AT_BOTTOM_PX = 24;

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
};

/** The page. */
export function ChatApp({ identity, connection }: { readonly identity: ChatIdentity; readonly connection: ChatConnection }) {
  const status = useSyncExternalStore(connection.onStatus, connection.status);
  return (
    <div className="chat">
      <aside>
        <h1>Chat</h1>
        <p className="me">You are <b data-testid="user">{identity.userId}</b></p>
        <nav>
          {ROOMS.map((room) => (
            <a key={room} className={room === identity.room ? 'current' : undefined} href={`?user=${encodeURIComponent(identity.userId)}&room=${room}`}>
              # {room}
            </a>
          ))}
        </nav>
        <p className={`status ${status}`} data-testid="status" data-status={status}>{STATUS_TEXT[status]}</p>
      </aside>
      <Room identity={identity} />
    </div>
  );
}

function Room({ identity }: { readonly identity: ChatIdentity }) {
  const { messages, add, error: roomError } = useRoomMessages(identity.room);
  const typing = useTypingUsers();
  const members = useRoomMembers(identity.room);
  const trpc = useTRPC();
  const send = useMutation(trpc.sendMessage.mutationOptions({ onSuccess: (message) => add([message]) }));
  const setTyping = useTypingAnnouncer();
  const [text, setText] = useState('');
  const list = useMessageList(messages, identity.userId);
  const tooLong = text.length > MAX_MESSAGE_LENGTH;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!text.trim() || tooLong) return;
    send.mutate({ room: identity.room, text });
    setText('');
    setTyping(false);
  };

  return (
    <main>
      <header># {identity.room}</header>
      <ul className="members" data-testid="members" aria-label="In this room">
        {members.map((userId) => <li key={userId} data-member={userId}>{userId}</li>)}
      </ul>
      {roomError ? <p className="error" role="alert" data-testid="room-error">{roomError}</p> : null}
      <div className="messages-frame">
        <ul className="messages" data-testid="messages" ref={list.ref} onScroll={list.onScroll}>
          {messages.map((message) => (
            <li key={message.id} data-from={message.from} className={message.from === identity.userId ? 'mine' : undefined}>
              <span className="from">{message.from}</span>
              <span className="text">{message.text}</span>
              <time>{message.at.toLocaleTimeString()}</time>
            </li>
          ))}
        </ul>
        {list.unseen ? (
          <button type="button" className="new-messages" data-testid="new-messages" onClick={list.scrollToBottom}>New messages ↓</button>
        ) : null}
      </div>
      <p className="typing" data-testid="typing">{typing.length > 0 ? `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…` : ''}</p>
      <form onSubmit={submit}>
        <input
          data-testid="composer"
          value={text}
          placeholder={`Message #${identity.room}`}
          aria-invalid={tooLong}
          onChange={(event) => {
            setText(event.target.value);
            setTyping(event.target.value.length > 0);
          }}
        />
        <span className={tooLong ? 'count over' : 'count'} data-testid="count" aria-live="polite">
          {text.length > 0 ? `${text.length.toLocaleString('en')} / ${MAX_MESSAGE_LENGTH}` : ''}
        </span>
        <button type="submit" disabled={!text.trim() || tooLong}>Send</button>
      </form>
      {tooLong ? (
        <p className="error" data-testid="too-long">
          {`Too long by ${(text.length - MAX_MESSAGE_LENGTH).toLocaleString('en')} characters: shorten it to ${MAX_MESSAGE_LENGTH} to send.`}
        </p>
      ) : null}
      {send.error ? <p className="error" role="alert" data-testid="send-error">{readableError(send.error)}</p> : null}
    </main>
  );
}

/**
 * Keeps the list scrolled to the newest message while the user is at the bottom (and after they
 * send); when they scrolled up to read, new messages leave the view alone and `unseen` says so.
 */
function useMessageList(messages: readonly ChatMessage[], userId: string) {
  const ref = useRef<HTMLUListElement>(null);
  const atBottom = useRef(true);
  const seen = useRef(0);
  const [unseen, setUnseen] = useState(false);
  const scrollToBottom = useCallback(() => {
    const list = ref.current;
    if (list) list.scrollTop = list.scrollHeight;
    atBottom.current = true;
    setUnseen(false);
  }, []);
  useLayoutEffect(() => {
    const added = messages.slice(seen.current);
    seen.current = messages.length;
    if (added.length === 0) return;
    if (atBottom.current || added.some((message) => message.from === userId)) scrollToBottom();
    else setUnseen(true);
  }, [messages, userId, scrollToBottom]);
  const onScroll = useCallback(() => {
    const list = ref.current;
    if (!list) return;
    atBottom.current = list.scrollHeight - list.scrollTop - list.clientHeight < AT_BOTTOM_PX;
    if (atBottom.current) setUnseen(false);
  }, []);
  return { ref, onScroll, unseen, scrollToBottom };
}

/**
 * The room's messages: the route's initial state (the room's recent messages) arrives first, then
 * each published message. After a reconnect the client resubscribes with the last event id
 * (tracked events) and the initial state is what was published while it was away; merging by id
 * keeps a message the page already has (e.g. its own, added from the mutation) from showing twice.
 */
function useRoomMessages(room: string) {
  const trpc = useTRPC();
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const add = useCallback((incoming: readonly ChatMessage[]) => {
    setMessages((previous) => {
      const byId = new Map(previous.map((message) => [message.id, message]));
      for (const message of incoming) byId.set(message.id, message);
      return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
  }, []);
  const subscription = useSubscription(trpc.onMessage.subscriptionOptions({ room }, {
    onData: (event) => add([event.data]),
  }));
  return { messages, add, error: subscription.error ? readableError(subscription.error) : undefined };
}

/** The users in this room, from `chat.members` (room presence), sorted. */
function useRoomMembers(room: string): string[] {
  const trpc = useTRPC();
  const [presence, setPresence] = useState<PresenceState<ChatMember>>(emptyPresence);
  useSubscription(trpc.chat.members.subscriptionOptions({ room }, {
    onData: (event) => setPresence((previous) => applyPresence(previous, event)),
  }));
  return [...presence.members.values()].map((member) => member.data.userId).sort();
}

/** Users typing in this room, from `chat.onTyping`. */
function useTypingUsers(): string[] {
  const trpc = useTRPC();
  const [typing, setTyping] = useState<ReadonlyMap<string, number>>(new Map());
  useSubscription(trpc.chat.onTyping.subscriptionOptions(undefined, {
    onData: ({ userId, typing: isTyping }) => setTyping((previous) => {
      const next = new Map(previous);
      if (isTyping) next.set(userId, Date.now() + TYPING_EXPIRY_MS);
      else next.delete(userId);
      return next;
    }),
  }));
  // Forget a "typing" whose "stopped" never came.
  useEffect(() => {
    if (typing.size === 0) return undefined;
    const timer = setInterval(() => setTyping((previous) => {
      const now = Date.now();
      const next = new Map([...previous].filter(([, expiresAt]) => expiresAt > now));
      return next.size === previous.size ? previous : next;
    }), 1_000);
    return () => clearInterval(timer);
  }, [typing.size]);
  return [...typing.keys()].sort();
}

/** Tells the room when this user starts typing, and when they stop (sent, cleared or idle). */
function useTypingAnnouncer(): (typing: boolean) => void {
  const trpc = useTRPC();
  const announce = useMutation(trpc.chat.typing.mutationOptions());
  const announced = useRef(false);
  const idleTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const { mutate } = announce;
  const setTyping = useCallback((typing: boolean) => {
    clearTimeout(idleTimer.current);
    if (typing) idleTimer.current = setTimeout(() => setTyping(false), TYPING_IDLE_MS);
    if (typing === announced.current) return;
    announced.current = typing;
    mutate({ typing });
  }, [mutate]);
  useEffect(() => () => clearTimeout(idleTimer.current), []);
  return setTyping;
}
