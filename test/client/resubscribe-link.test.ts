/**
 * `resubscribeLink()` (cdk-trpc-subscriptions/client) with the stock `@trpc/client` through the
 * local gateway: a subscription whose first socket the server closes right after the upgrade
 * (the stock client then sends on the closing socket and ends the subscription with "Active
 * connection is not open") is subscribed again and resumes from its last event; errors the
 * server sends are not retried.
 */
import { createTRPCClient, createWSClient, TRPCClientError, wsLink, type TRPCLink } from '@trpc/client';
import { TRPCError } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { isConnectionError, resubscribeLink } from '../../client';
import { memory } from '../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../lambda/local';
import { historySubscriptions, type HistoryRouter } from '../fixtures/history-router';
import { waitFor } from '../lambda/support/harness';

/** Clients per run: the race hits about one subscription in ten on this machine, so a run without the link fails. */
const TRIES = 30;

const app = historySubscriptions(600).store({ store: memory() });
const handlers = { connect: app.connect(), handler: app.handler(), disconnect: app.disconnect() };
let good: LocalGateway;
/** Closes every connection 2 ms after it opened (1001), as API Gateway's cut at the connection's limit does. */
let closing: LocalGateway;
const publisher = () => app.publisher({ endpoint: good.endpoint });

beforeAll(async () => {
  good = await startLocalGateway({ handlers, logger: silentLogger });
  closing = await startLocalGateway({ handlers, logger: silentLogger, maxConnectionMs: 2 });
});
afterAll(async () => {
  await good.close();
  await closing.close();
});

/** A client (the link before `wsLink`) whose first socket goes to `first`, the next ones to the good gateway. */
function client(first: () => LocalGateway) {
  let firstSocket = true;
  const wsClient = createWSClient({
    url: () => {
      const url = firstSocket ? first().url : good.url;
      firstSocket = false;
      return url;
    },
    WebSocket: WebSocket as never,
    retryDelayMs: () => 10,
  });
  const trpc = createTRPCClient<HistoryRouter>({ links: [resubscribeLink(), wsLink({ client: wsClient, transformer: superjson })] });
  return { trpc, close: () => wsClient.close() };
}

test(`a resumed subscription whose first socket is closed right after the upgrade gets every event (${TRIES} clients)`, async () => {
  const start = (await publisher().routes.onEvent.publish({ data: { n: -1, room: null } })).eventId!;
  for (let n = 0; n < 3; n++) await publisher().routes.onEvent.publish({ data: { n, room: null } });
  const outcomes: string[] = [];
  for (let i = 0; i < TRIES; i++) {
    const { trpc, close } = client(() => closing);
    const inbox: number[] = [];
    const errors: string[] = [];
    const subscription = trpc.onEvent.subscribe({ lastEventId: start }, {
      onData: (event) => void inbox.push(event.data.n),
      onError: (error) => void errors.push(error.message),
    });
    await waitFor(() => inbox.length >= 3 || errors.length > 0, 5000, `client ${i}`).catch(() => undefined);
    outcomes.push(errors.length > 0 ? `error: ${errors.join(', ')}` : inbox.join(','));
    subscription.unsubscribe();
    await close();
  }
  expect(outcomes).toEqual(Array.from({ length: TRIES }, () => '0,1,2'));
}, 120_000);

test('an error the server sends is not retried: a server-side stop with an error reaches onError once', async () => {
  const { trpc, close } = client(() => good);
  const errors: TRPCClientError<HistoryRouter>[] = [];
  let starts = 0;
  const subscription = trpc.onEvent.subscribe({ room: 'stop-me' }, { onStarted: () => void starts++, onError: (error) => void errors.push(error) });
  await waitFor(() => starts === 1, 5000, 'started');

  const result = await publisher().routes.onEvent.stop({
    filter: { name: 'byRoom', input: { room: 'stop-me' } }, error: new TRPCError({ code: 'FORBIDDEN', message: 'removed' }),
  });

  expect(result).toMatchObject({ matched: 1, stopped: 1 });
  await waitFor(() => errors.length === 1, 5000, 'onError');
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect([errors.length, errors[0].data?.code, errors[0].message, starts, isConnectionError(errors[0])]).toEqual([1, 'FORBIDDEN', 'removed', 1, false]);
  subscription.unsubscribe();
  await close();
});

/** What the stand-in transport does on each subscribe: end with the stock client's connection error, start, or both. */
type Step = 'fail' | 'start' | 'start-then-fail';

/**
 * A terminating link standing in for `wsLink`, following `script` (one step per subscribe). The
 * error is the one the stock client gives when it sent on a closing socket, which a real socket
 * produces only now and then.
 */
function scriptedTransport(script: readonly Step[], calls: unknown[]): TRPCLink<HistoryRouter> {
  return () => ({ op }) => observable((observer) => {
    calls.push(op.input);
    const step = script[calls.length - 1] ?? 'start';
    if (step !== 'fail') {
      observer.next({ result: { type: 'started' } });
      const id = `e${calls.length}`;
      observer.next({ result: { type: 'data', id, data: { id, data: { n: calls.length, room: null } } } });
    }
    if (step !== 'start') observer.error(TRPCClientError.from(new Error('Active connection is not open')));
    return () => undefined;
  });
}

test('a connection error is retried at most maxAttempts times in a row; a started resets the count', async () => {
  const subscribe = (script: readonly Step[], maxAttempts: number) => {
    const calls: unknown[] = [];
    const links = [resubscribeLink<HistoryRouter>({ maxAttempts, retryDelayMs: () => 0 }), scriptedTransport(script, calls)];
    const trpc = createTRPCClient<HistoryRouter>({ links });
    const seen = { data: [] as number[], errors: [] as TRPCClientError<HistoryRouter>[] };
    trpc.onEvent.subscribe({ room: 'r' }, { onData: (event) => void seen.data.push(event.data.n), onError: (error) => void seen.errors.push(error) });
    return { calls, seen };
  };

  const recovered = subscribe(['fail', 'fail', 'start'], 2);
  await waitFor(() => recovered.seen.data.length === 1, 2000, 'data after two failures');
  expect([recovered.calls, recovered.seen.data, recovered.seen.errors]).toEqual([[{ room: 'r' }, { room: 'r' }, { room: 'r' }], [3], []]);

  const exhausted = subscribe(['fail', 'fail', 'fail', 'start'], 2);
  await waitFor(() => exhausted.seen.errors.length === 1, 2000, 'onError after maxAttempts');
  expect([exhausted.calls.length, exhausted.seen.errors[0].message, isConnectionError(exhausted.seen.errors[0])])
    .toEqual([3, 'Active connection is not open', true]);

  // One failure in a row is allowed: the start in between makes the third subscribe's failure the first again.
  const reset = subscribe(['fail', 'start-then-fail', 'fail', 'start'], 1);
  await waitFor(() => reset.seen.errors.length === 1 || reset.seen.data.length === 2, 2000, 'the end of the script');
  expect([reset.calls.length, reset.seen.data, reset.seen.errors.length]).toEqual([3, [2], 1]);

  expect(() => resubscribeLink({ maxAttempts: -1 })).toThrow('`maxAttempts` must be a non-negative integer, got: -1');
});

test('a resubscribe after a tracked event carries its id as lastEventId; queries pass through once', async () => {
  const calls: unknown[] = [];
  let failOnce = true;
  const transport: TRPCLink<HistoryRouter> = () => ({ op }) => observable((observer) => {
    calls.push({ type: op.type, input: op.input });
    if (op.type !== 'subscription') {
      observer.next({ result: { type: 'data', data: 'pong' } });
      observer.complete();
      return () => undefined;
    }
    observer.next({ result: { type: 'started' } });
    observer.next({ result: { type: 'data', id: '0000000000000007', data: { id: '0000000000000007', data: { n: 7, room: null } } } });
    if (failOnce) {
      failOnce = false;
      observer.error(TRPCClientError.from(new Error('Active connection is not open')));
    }
    return () => undefined;
  });
  const trpc = createTRPCClient<HistoryRouter>({ links: [resubscribeLink(), transport] });
  await expect(trpc.ping.query()).resolves.toBe('pong');
  const data: number[] = [];
  trpc.onEvent.subscribe({ room: 'r' }, { onData: (event) => void data.push(event.data.n) });
  await waitFor(() => data.length === 2, 2000, 'two events');
  expect(calls).toEqual([
    { type: 'query', input: undefined },
    { type: 'subscription', input: { room: 'r' } },
    { type: 'subscription', input: { room: 'r', lastEventId: '0000000000000007' } },
  ]);
});
