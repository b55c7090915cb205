/**
 * Child process holding the benchmark's WebSocket clients (raw `ws` speaking the tRPC frames the
 * real client sends), so that they neither share the gateway's file descriptor budget nor its
 * event loop. Driven over IPC by ./crowd.ts; every wait is bounded.
 */
import { WebSocket } from 'ws';
import type { CrowdCommand, CrowdReply } from './crowd';

interface Member {
  readonly socket: WebSocket;
  readonly group: string;
}

const members: Member[] = [];
const armed = new Map<string, { expected: number; received: number; first: number; last: number; timer: NodeJS.Timeout }>();

function now(): number {
  return performance.timeOrigin + performance.now();
}

function reply(message: CrowdReply): void {
  process.send?.(message);
}

/** Opens one socket, subscribes, resolves once `started` arrived. */
function join(url: string, group: string, frame: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error('no started within the timeout'));
    }, timeoutMs);
    let started = false;
    socket.on('open', () => socket.send(frame));
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (!started) reject(error);
    });
    socket.on('message', (data) => {
      const text = data.toString();
      if (!started) {
        if (text.includes('"started"')) {
          started = true;
          clearTimeout(timer);
          members.push({ socket, group });
          resolve();
        } else {
          clearTimeout(timer);
          socket.terminate();
          reject(new Error(`unexpected first frame: ${text.slice(0, 200)}`));
        }
        return;
      }
      const waiting = armed.get(group);
      if (!waiting) return;
      const at = now();
      waiting.received++;
      if (waiting.received === 1) waiting.first = at;
      waiting.last = at;
      if (waiting.received === waiting.expected) {
        clearTimeout(waiting.timer);
        armed.delete(group);
        reply({ type: 'received', group, received: waiting.received, firstAt: waiting.first, lastAt: waiting.last });
      }
    });
  });
}

async function connect(command: Extract<CrowdCommand, { type: 'connect' }>): Promise<void> {
  const frame = JSON.stringify({ id: 1, method: 'subscription', params: { path: command.path, input: { json: command.input } } });
  let next = 0;
  let failed = 0;
  let firstError = '';
  const worker = async () => {
    while (next < command.count) {
      next++;
      try {
        await join(command.url, command.group, frame, command.timeoutMs);
      } catch (error) {
        failed++;
        firstError ||= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(command.concurrency, command.count) }, worker));
  reply({ type: 'connected', group: command.group, connected: command.count - failed, failed, firstError });
}

function arm(command: Extract<CrowdCommand, { type: 'arm' }>): void {
  const timer = setTimeout(() => {
    const waiting = armed.get(command.group);
    armed.delete(command.group);
    reply({ type: 'received', group: command.group, received: waiting?.received ?? 0, firstAt: waiting?.first ?? 0, lastAt: waiting?.last ?? 0 });
  }, command.timeoutMs);
  armed.set(command.group, { expected: command.expected, received: 0, first: 0, last: 0, timer });
  reply({ type: 'armed', group: command.group });
}

async function closeAll(): Promise<void> {
  const open = members.splice(0);
  await Promise.all(open.map(({ socket }) => new Promise<void>((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) return resolve();
    socket.once('close', () => resolve());
    socket.terminate();
  })));
  reply({ type: 'closed' });
}

process.on('message', (command: CrowdCommand) => {
  switch (command.type) {
    case 'connect':
      void connect(command);
      return;
    case 'arm':
      arm(command);
      return;
    case 'close':
      void closeAll().then(() => process.exit(0));
      return;
  }
});
// The parent went away: never outlive it.
process.on('disconnect', () => process.exit(0));
reply({ type: 'ready' });
