/**
 * The chat's history: the initial state of `onMessage` (a room's recent messages, or what a page
 * that was away missed). The ids are the tracked event ids of `onMessage` (`publish({ id })`):
 * zero-padded sequence numbers, so that they sort as strings and a resubscribing page's
 * `lastEventId` selects everything after the last message it saw.
 *
 * In memory, per process: right for the local stack, where every handler runs in one process. A
 * deployed app keeps its history in its own table (Lambda instances share no memory).
 */

/** A chat message as stored and as published. */
export interface ChatMessage {
  /** Sortable event id. */
  readonly id: string;
  readonly room: string;
  readonly from: string;
  readonly text: string;
  readonly at: Date;
}

/** The chat's history. */
export interface MessageLog {
  /** Stores a message and gives it the next id. */
  append(message: Omit<ChatMessage, 'id'>): ChatMessage;
  /** The room's messages after `afterId` (all when omitted), oldest first, at most `limit`. */
  after(room: string, afterId?: string, limit?: number): ChatMessage[];
}

const ID_DIGITS = 12;
const ROOM_HISTORY = 200;

/** A {@link MessageLog} in this process's memory, keeping the last 200 messages of each room. */
export function memoryMessageLog(): MessageLog {
  let sequence = 0;
  const rooms = new Map<string, ChatMessage[]>();
  return {
    append(message) {
      sequence += 1;
      const stored: ChatMessage = { ...message, id: String(sequence).padStart(ID_DIGITS, '0') };
      const room = rooms.get(message.room) ?? [];
      room.push(stored);
      if (room.length > ROOM_HISTORY) room.shift();
      rooms.set(message.room, room);
      return stored;
    },
    after(room, afterId, limit = ROOM_HISTORY) {
      const messages = rooms.get(room) ?? [];
      const newer = afterId === undefined ? messages : messages.filter((message) => message.id > afterId);
      return newer.slice(-limit);
    },
  };
}
