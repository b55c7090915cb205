import type { Expectation, FrameExpectation } from './arbitraries';
import { parseServerFrame, type ServerFrame } from './frames';

/** A subscription found in the store after a frame was handled. */
export interface StoredSubscription {
  readonly subscriptionId: string | number;
  readonly path: string;
}

const keyOf = (id: unknown): string => (typeof id === 'number' ? `n:${Object.is(id, -0) ? 0 : id}` : `${typeof id}:${String(id)}`);

/**
 * Checks the frames the server sent for one client frame against the protocol's expectation,
 * and the subscriptions stored for the connection against the frames: a subscription is stored
 * if and only if it was answered `started` (and not `stopped`), and only for a subscription
 * request of that id and path. Throws a descriptive Error on the first violation.
 */
export function checkReplies(
  expectation: FrameExpectation, rawFrames: readonly string[], stored: readonly StoredSubscription[], production = true,
): ServerFrame[] {
  const frames: ServerFrame[] = [];
  for (const raw of rawFrames) {
    if (raw === 'PONG') {
      if (expectation.kind !== 'pong') throw new Error('PONG sent for a frame that was not PING');
      continue;
    }
    frames.push(parseServerFrame(raw, production));
  }
  const fail = (why: string): never => {
    throw new Error(`${why}\nframes: ${rawFrames.map((frame) => frame.slice(0, 200)).join('\n        ')}`);
  };
  for (const frame of frames) {
    if (frame.kind === 'error' && frame.dataCode === 'INTERNAL_SERVER_ERROR' && production && frame.message !== 'Internal server error') {
      fail(`an internal error's message reached the client in production: ${frame.message}`);
    }
  }
  switch (expectation.kind) {
    case 'pong':
      if (rawFrames.length !== 1 || rawFrames[0] !== 'PONG') fail('PING must be answered with exactly PONG');
      break;
    case 'nothing':
      if (rawFrames.length > 0) fail('expected no frame');
      break;
    case 'null-error':
      if (frames.length !== 1 || frames[0].kind !== 'error' || frames[0].id !== null) fail('expected exactly one error frame with id null');
      break;
    case 'messages':
      checkMessages(expectation.messages, frames, fail);
      break;
  }
  checkStored(expectation, frames, stored, fail);
  return frames;
}

function checkMessages(messages: readonly Expectation[], frames: readonly ServerFrame[], fail: (why: string) => never): void {
  const byId = new Map<string, { reply: number; subscribe: number; stop: number }>();
  for (const message of messages) {
    const key = keyOf(message.id);
    const counts = byId.get(key) ?? { reply: 0, subscribe: 0, stop: 0 };
    counts[message.kind]++;
    byId.set(key, counts);
  }
  const framesById = new Map<string, ServerFrame[]>();
  for (const frame of frames) {
    const key = keyOf(frame.id);
    framesById.set(key, [...(framesById.get(key) ?? []), frame]);
  }
  for (const [key, got] of framesById) {
    const counts = byId.get(key);
    if (!counts) fail(`a frame for id ${key}, which no message of the frame carried`);
    if (got.some((frame) => frame.kind === 'result' && frame.type === 'stopped') && counts!.stop === 0) fail(`stopped for ${key} without a stop`);
    if (got.some((frame) => frame.kind === 'result' && frame.type === 'started') && counts!.subscribe === 0) fail(`started for ${key} without a subscription request`);
  }
  for (const [key, counts] of byId) {
    const got = framesById.get(key)?.length ?? 0;
    const min = counts.reply + (counts.stop > 0 ? 0 : counts.subscribe);
    const max = counts.reply + counts.subscribe + counts.stop;
    if (got < min || got > max) fail(`id ${key}: ${got} frame(s), expected between ${min} and ${max}`);
  }
}

function checkStored(
  expectation: FrameExpectation, frames: readonly ServerFrame[], stored: readonly StoredSubscription[], fail: (why: string) => never,
): void {
  const subscribeRequests = expectation.kind === 'messages'
    ? expectation.messages.filter((message): message is Extract<Expectation, { kind: 'subscribe' }> => message.kind === 'subscribe')
    : [];
  const started = new Set(frames.filter((f) => f.kind === 'result' && f.type === 'started').map((f) => keyOf(f.id)));
  const stopped = new Set(frames.filter((f) => f.kind === 'result' && f.type === 'stopped').map((f) => keyOf(f.id)));
  const storedKeys = new Set<string>();
  for (const subscription of stored) {
    const key = keyOf(subscription.subscriptionId);
    if (storedKeys.has(key)) fail(`subscription ${key} stored twice`);
    storedKeys.add(key);
    if (!subscribeRequests.some((request) => keyOf(request.id) === key && request.path === subscription.path)) {
      fail(`stored subscription ${key} on "${subscription.path}" that no subscription request created`);
    }
    if (!started.has(key)) fail(`stored subscription ${key} was never answered started`);
    if (stopped.has(key)) fail(`subscription ${key} answered stopped but still stored`);
  }
  for (const key of started) {
    if (!stopped.has(key) && !storedKeys.has(key)) fail(`subscription ${key} answered started but not stored`);
  }
}
