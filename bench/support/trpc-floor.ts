/**
 * The floor: tRPC's own WebSocket adapter (`applyWSSHandler`) serving a router of the example's
 * shape in-process, with a trivial EventEmitter subscription. No store, no gateway, no Lambda.
 */
import { EventEmitter, on } from 'node:events';
import type { AddressInfo } from 'node:net';
import { initTRPC } from '@trpc/server';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import superjson from 'superjson';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import type { ChatMessage } from '../../example/app-router';

const t = initTRPC.context<{ userId: string }>().create({ transformer: superjson });

/** Builds the floor router over an emitter of `{ room, message }` events. */
export function floorRouter(events: EventEmitter) {
  return t.router({
    onMessage: t.procedure
      .input(z.object({ room: z.string() }))
      .subscription(async function* ({ input, signal }) {
        for await (const [event] of on(events, 'message', { signal }) as AsyncIterable<[{ room: string; message: ChatMessage }]>) {
          if (event.room === input.room) yield event.message;
        }
      }),
    whoami: t.procedure.query(({ ctx }) => ctx.userId),
  });
}

/** A running floor server. */
export interface FloorServer {
  readonly url: string;
  /** Emits a message to the subscribers of `room`. */
  publish(room: string, message: ChatMessage): void;
  close(): Promise<void>;
}

export async function startFloorServer(): Promise<FloorServer> {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const handler = applyWSSHandler({ wss, router: floorRouter(events), createContext: () => ({ userId: 'anon' }) });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    publish: (room, message) => events.emit('message', { room, message }),
    close: async () => {
      handler.broadcastReconnectNotification();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
