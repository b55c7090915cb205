import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** Commands to the crowd process. */
export type CrowdCommand =
  | {
    readonly type: 'connect';
    readonly url: string;
    readonly group: string;
    readonly count: number;
    readonly path: string;
    readonly input: unknown;
    readonly concurrency: number;
    readonly timeoutMs: number;
  }
  | { readonly type: 'arm'; readonly group: string; readonly expected: number; readonly timeoutMs: number }
  | { readonly type: 'close' };

/** Replies of the crowd process. */
export type CrowdReply =
  | { readonly type: 'ready' }
  | { readonly type: 'connected'; readonly group: string; readonly connected: number; readonly failed: number; readonly firstError: string }
  | { readonly type: 'armed'; readonly group: string }
  | { readonly type: 'received'; readonly group: string; readonly received: number; readonly firstAt: number; readonly lastAt: number }
  | { readonly type: 'closed' };

/** A child process of WebSocket clients, grouped (one group subscribes with one input). */
export interface Crowd {
  /** Opens `count` sockets, each subscribing to `path` with `input`; resolves once all got `started`. */
  join(group: string, url: string, count: number, path: string, input: unknown): Promise<void>;
  /** Starts waiting for one data frame on each of `expected` sockets of `group`. */
  arm(group: string, expected: number, timeoutMs: number): Promise<{ readonly received: Promise<Extract<CrowdReply, { type: 'received' }>> }>;
  /** Closes every socket and ends the process (bounded). */
  close(): Promise<void>;
}

const REPLY_TIMEOUT_MS = 240_000;

export async function startCrowd(): Promise<Crowd> {
  const child: ChildProcess = fork(join(__dirname, 'crowd-process.ts'), [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters: Array<{ match: (reply: CrowdReply) => boolean; resolve: (reply: CrowdReply) => void }> = [];
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    exited = true;
    if (code !== 0) process.stderr.write(`crowd process exited with code ${code}, signal ${signal}\n`);
    resolve();
  }));
  child.on('message', (reply: CrowdReply) => {
    const index = waiters.findIndex((waiter) => waiter.match(reply));
    if (index >= 0) waiters.splice(index, 1)[0].resolve(reply);
  });
  const next = <T extends CrowdReply>(match: (reply: CrowdReply) => reply is T, what: string, timeoutMs = REPLY_TIMEOUT_MS): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`crowd: no ${what} within ${timeoutMs} ms`)), timeoutMs);
      waiters.push({ match, resolve: (reply) => { clearTimeout(timer); resolve(reply as T); } });
      void exit.then(() => { clearTimeout(timer); reject(new Error(`crowd process exited while waiting for ${what}`)); });
    });
  await next((r): r is Extract<CrowdReply, { type: 'ready' }> => r.type === 'ready', 'ready', 30_000);
  return {
    async join(group, url, count, path, input) {
      const done = next((r): r is Extract<CrowdReply, { type: 'connected' }> => r.type === 'connected' && r.group === group, `connected ${group}`);
      child.send({ type: 'connect', url, group, count, path, input, concurrency: 100, timeoutMs: 60_000 } satisfies CrowdCommand);
      const reply = await done;
      if (reply.failed > 0) throw new Error(`crowd: ${reply.failed} of ${count} clients of ${group} failed to subscribe (${reply.firstError})`);
    },
    async arm(group, expected, timeoutMs) {
      const armed = next((r): r is Extract<CrowdReply, { type: 'armed' }> => r.type === 'armed' && r.group === group, `armed ${group}`);
      const received = next((r): r is Extract<CrowdReply, { type: 'received' }> => r.type === 'received' && r.group === group, `received ${group}`, timeoutMs + 30_000);
      // Awaited by the caller later: a rejection meanwhile must not be unhandled (it would end the run without cleanup).
      received.catch(() => undefined);
      child.send({ type: 'arm', group, expected, timeoutMs } satisfies CrowdCommand);
      await armed;
      return { received };
    },
    async close() {
      if (exited) return;
      child.send({ type: 'close' } satisfies CrowdCommand);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
