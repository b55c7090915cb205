/**
 * The console's live stream: every Management API request the gateway answered, filed into
 * entries (one per publish, stop, reconnect or disconnect) with the outcome of each target.
 *
 * The gateway sees single posts, not publishes, so posts are grouped: a post joins the newest
 * entry with the same frame (without the subscription id) while that entry has had a post within
 * `windowMs` and has no post to the same target yet; a publish posts to each target once. An
 * attempt the SDK retries carries the same `amz-sdk-invocation-id`, so it updates its target
 * instead. Two publishes of identical data at the same moment to different subscribers share one
 * entry, which is what they look like on the wire.
 */
import type { RequestId } from '../../store/store';
import type { ManagementExchange } from '../management-api';
import { MAX_TARGETS_SHOWN, type StreamEntryView, type StreamKind, type TargetOutcome, type TargetView } from './view';

/** How an answer maps to a target's outcome: 429 is throttled (the SDK retries it), 410 gone. */
export function outcomeOf(exchange: Pick<ManagementExchange, 'status'>): TargetOutcome {
  const { status } = exchange;
  if (status === undefined) return 'failed';
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'gone';
  if (status === 429) return 'throttled';
  return 'failed';
}

/** One post (or DeleteConnection) as the stream takes it. */
export interface StreamPost {
  readonly at: number;
  readonly kind: StreamKind;
  /** Groups the posts of one publish (see the module comment). */
  readonly key: string;
  readonly connectionId: string;
  readonly subscriptionId?: RequestId;
  readonly path?: string;
  readonly detail?: string;
  readonly eventId?: string;
  readonly exchange: ManagementExchange;
}

/** Options of {@link createStream}. */
export interface StreamOptions {
  /**
   * Entries kept (the oldest go first).
   * @default 200
   */
  readonly limit?: number;
  /**
   * How long after an entry's latest post another post may still join it.
   * @default 1500
   */
  readonly windowMs?: number;
}

interface Entry {
  readonly view: {
    id: number;
    at: number;
    kind: StreamKind;
    path?: string;
    detail?: string;
    eventId?: string;
    fromConsole?: boolean;
    result?: StreamEntryView['result'];
    targets: TargetView[];
  };
  readonly key: string;
  lastAt: number;
  readonly targets: Map<string, number>;
}

/** The stream: {@link ConsoleStream.record} files a post, {@link ConsoleStream.entries} lists them. */
export interface ConsoleStream {
  /** Files a post; returns its entry. */
  record(post: StreamPost): StreamEntryView;
  /** Adds an entry for a publish sent from the console that posted nothing (no subscriber matched). */
  add(entry: Omit<StreamEntryView, 'id' | 'targets' | 'tally' | 'more'>): StreamEntryView;
  /** Marks the entry `id` as sent from the console, with the publisher's counts. */
  complete(id: number, result: NonNullable<StreamEntryView['result']>): void;
  /** Newest first. */
  entries(): StreamEntryView[];
}

/** Creates an empty stream. */
export function createStream(options: StreamOptions = {}): ConsoleStream {
  const limit = options.limit ?? 200;
  const windowMs = options.windowMs ?? 1500;
  const entries: Entry[] = [];
  const byInvocation = new Map<string, { entry: Entry; index: number }>();
  let nextId = 1;

  const push = (entry: Entry) => {
    entries.push(entry);
    while (entries.length > limit) {
      const dropped = entries.shift()!;
      for (const [invocation, place] of byInvocation) if (place.entry === dropped) byInvocation.delete(invocation);
    }
  };

  return {
    record(post) {
      const { exchange } = post;
      const target = `${post.connectionId}\u0000${post.subscriptionId ?? ''}`;
      const outcome = { outcome: outcomeOf(exchange), status: exchange.status, errorType: exchange.errorType };
      const retried = exchange.invocationId === undefined ? undefined : byInvocation.get(exchange.invocationId);
      if (retried) {
        const previous = retried.entry.view.targets[retried.index];
        retried.entry.view.targets[retried.index] = { ...previous, ...outcome, attempts: previous.attempts + 1 };
        retried.entry.lastAt = post.at;
        return toView(retried.entry.view);
      }
      let entry = [...entries].reverse().find((candidate) => candidate.key === post.key);
      if (!entry || post.at - entry.lastAt > windowMs || entry.targets.has(target)) {
        entry = {
          key: post.key,
          lastAt: post.at,
          targets: new Map(),
          view: {
            id: nextId++,
            at: post.at,
            kind: post.kind,
            targets: [],
            ...(post.path === undefined ? {} : { path: post.path }),
            ...(post.detail === undefined ? {} : { detail: post.detail }),
            ...(post.eventId === undefined ? {} : { eventId: post.eventId }),
          },
        };
        push(entry);
      }
      entry.lastAt = post.at;
      const index = entry.view.targets.length;
      entry.view.targets.push({
        connectionId: post.connectionId,
        ...(post.subscriptionId === undefined ? {} : { subscriptionId: post.subscriptionId }),
        ...outcome,
        attempts: 1,
      });
      entry.targets.set(target, index);
      if (exchange.invocationId !== undefined) byInvocation.set(exchange.invocationId, { entry, index });
      return toView(entry.view);
    },
    add(view) {
      const entry: Entry = { key: `console ${nextId}`, lastAt: view.at, targets: new Map(), view: { ...view, id: nextId++, targets: [] } };
      push(entry);
      return toView(entry.view);
    },
    complete(id, result) {
      const entry = entries.find((candidate) => candidate.view.id === id);
      if (!entry) return;
      entry.view.fromConsole = true;
      entry.view.result = result;
    },
    entries: () => entries.map((entry) => toView(entry.view)).reverse(),
  };
}

/** An entry as the page gets it: the first targets, and a tally of all. */
function toView(view: Entry['view']): StreamEntryView {
  const tally: Record<TargetOutcome, number> = { pending: 0, delivered: 0, gone: 0, throttled: 0, failed: 0 };
  for (const target of view.targets) tally[target.outcome]++;
  const more = view.targets.length - MAX_TARGETS_SHOWN;
  return { ...view, targets: view.targets.slice(0, MAX_TARGETS_SHOWN), tally, ...(more > 0 ? { more } : {}) };
}
