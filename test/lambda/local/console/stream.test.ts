import { createStream, outcomeOf, type StreamPost } from '../../../../lambda/local/console/stream';
import { classifyPostedFrame, recordClientFrame, type ClientRequests } from '../../../../lambda/local/console/wire';

/** A post of `key` to `connectionId` answered `status`, at `at` ms. */
function post(
  at: number, connectionId: string, status: number | undefined, options: Partial<StreamPost> & { invocationId?: string } = {},
): StreamPost {
  const { invocationId, ...rest } = options;
  return {
    at,
    kind: 'publish',
    key: 'publish onMessage {"type":"data","data":1}',
    connectionId,
    subscriptionId: 1,
    path: 'onMessage',
    exchange: { method: 'POST', connectionId, ...(status === undefined ? {} : { status }), ...(invocationId ? { invocationId } : {}) },
    ...rest,
  };
}

describe('the console stream', () => {
  test('an answer maps to an outcome: 2xx delivered, 410 gone, 429 throttled, anything else or no answer failed', () => {
    expect([200, 204, 410, 429, 500, 403, 413, undefined].map((status) => outcomeOf({ status }))).toEqual([
      'delivered', 'delivered', 'gone', 'throttled', 'failed', 'failed', 'failed', 'failed',
    ]);
  });

  test('the posts of one publish form one entry with an outcome per target', () => {
    const stream = createStream();
    stream.record(post(0, 'a', 200));
    stream.record(post(5, 'b', 410));
    stream.record(post(9, 'c', 429));
    expect(stream.entries()).toEqual([expect.objectContaining({
      id: 1,
      at: 0,
      kind: 'publish',
      path: 'onMessage',
      targets: [
        { connectionId: 'a', subscriptionId: 1, outcome: 'delivered', status: 200, attempts: 1 },
        { connectionId: 'b', subscriptionId: 1, outcome: 'gone', status: 410, attempts: 1 },
        { connectionId: 'c', subscriptionId: 1, outcome: 'throttled', status: 429, attempts: 1 },
      ],
    })]);
  });

  test('a retry of a call (same invocation id) updates its target; a second post to a target starts a new entry', () => {
    const stream = createStream();
    stream.record(post(0, 'a', 429, { invocationId: 'call-1' }));
    stream.record(post(1, 'b', 200, { invocationId: 'call-2' }));
    stream.record(post(30, 'a', 200, { invocationId: 'call-1' }));
    expect(stream.entries()).toHaveLength(1);
    expect(stream.entries()[0].targets[0]).toEqual({ connectionId: 'a', subscriptionId: 1, outcome: 'delivered', status: 200, attempts: 2 });
    // The same data published again to the same subscriber is another publish.
    stream.record(post(40, 'a', 200, { invocationId: 'call-3' }));
    expect(stream.entries().map((entry) => entry.targets.length)).toEqual([1, 2]);
  });

  test('different data, or a pause longer than the window, makes separate entries', () => {
    const stream = createStream({ windowMs: 100 });
    stream.record(post(0, 'a', 200));
    stream.record(post(10, 'b', 200, { key: 'publish onMessage {"type":"data","data":2}' }));
    stream.record(post(500, 'c', 200));
    expect(stream.entries().map((entry) => entry.targets.map((target) => target.connectionId))).toEqual([['c'], ['b'], ['a']]);
  });

  test('a large fan-out lists its first targets and counts them all', () => {
    const stream = createStream();
    for (let i = 0; i < 150; i++) stream.record(post(i, `c${i}`, i < 140 ? 200 : 410));
    const [entry] = stream.entries();
    expect(entry.targets).toHaveLength(100);
    expect(entry.more).toBe(50);
    expect(entry.tally).toEqual({ pending: 0, delivered: 140, gone: 10, throttled: 0, failed: 0 });
  });

  test('it keeps the newest entries only; a console publish that matched nobody gets an entry of its own', () => {
    const stream = createStream({ limit: 2 });
    for (let i = 0; i < 3; i++) stream.record(post(i * 10_000, `c${i}`, 200));
    expect(stream.entries().map((entry) => entry.id)).toEqual([3, 2]);
    const added = stream.add({ at: 1, kind: 'publish', path: 'onMessage', detail: '{}', fromConsole: true, result: { matched: 0, delivered: 0, gone: 0, failed: 0 } });
    stream.complete(3, { matched: 1, delivered: 1, gone: 0, failed: 0 });
    expect(stream.entries().map((entry) => [entry.id, entry.fromConsole, entry.result?.matched])).toEqual([[added.id, true, 0], [3, true, 1]]);
  });
});

describe('reading frames on the wire', () => {
  const subscribed = (): ClientRequests => {
    const requests: ClientRequests = new Map();
    recordClientFrame(requests, JSON.stringify([
      { id: 1, method: 'subscription', params: { path: 'onMessage', input: { room: 'lobby' } } },
      { id: 'q', method: 'query', params: { path: 'whoami' } },
    ]));
    return requests;
  };

  test('data for a subscription is a publish, keyed without the subscription id; a reply to a query is not', () => {
    const requests = subscribed();
    expect(requests.get('number:1')).toEqual({ method: 'subscription', path: 'onMessage', input: { room: 'lobby' } });
    // Only subscriptions are kept: a long-lived connection's queries do not pile up.
    expect([...requests.keys()]).toEqual(['number:1']);
    const publish = classifyPostedFrame(requests, '{"id":1,"jsonrpc":"2.0","result":{"type":"data","id":"e1","data":{"n":1}}}');
    expect(publish).toEqual({
      kind: 'publish', subscriptionId: 1, path: 'onMessage', data: { n: 1 }, eventId: 'e1', key: 'publish onMessage {"type":"data","id":"e1","data":{"n":1}}',
    });
    expect(classifyPostedFrame(requests, '{"id":"q","result":{"type":"data","data":"alice"}}')).toEqual({ kind: 'reply' });
    expect(classifyPostedFrame(requests, '{"id":1,"result":{"type":"started"}}')).toEqual({ kind: 'reply' });
    // The string id '1' is another request than the number 1.
    expect(classifyPostedFrame(requests, '{"id":"1","result":{"type":"data","data":1}}')).toEqual({ kind: 'reply' });
  });

  test('stopped and error frames are server-side stops, unless the client asked to stop', () => {
    const requests = subscribed();
    expect(classifyPostedFrame(requests, '{"id":1,"result":{"type":"stopped"}}')).toMatchObject({ kind: 'stop', path: 'onMessage', subscriptionId: 1 });
    expect(classifyPostedFrame(requests, '{"id":1,"error":{"message":"Kicked","code":-32003,"data":{"code":"FORBIDDEN"}}}'))
      .toMatchObject({ kind: 'error', detail: 'FORBIDDEN: Kicked' });
    recordClientFrame(requests, '{"id":1,"method":"subscription.stop"}');
    expect(classifyPostedFrame(requests, '{"id":1,"result":{"type":"stopped"}}')).toEqual({ kind: 'reply' });
    expect(requests.size).toBe(0);
  });

  test('the reconnect notification is recognised; garbage, PING and unknown connections are replies', () => {
    expect(classifyPostedFrame(undefined, '{"id":null,"method":"reconnect"}')).toEqual({ kind: 'reconnect', key: 'reconnect' });
    expect(classifyPostedFrame(undefined, '{"id":1,"result":{"type":"data"}}')).toEqual({ kind: 'reply' });
    expect(classifyPostedFrame(subscribed(), 'not json')).toEqual({ kind: 'reply' });
    expect(classifyPostedFrame(subscribed(), undefined)).toEqual({ kind: 'reply' });
    const requests: ClientRequests = new Map();
    recordClientFrame(requests, 'PING');
    recordClientFrame(requests, '{"method":"connectionParams","data":{"token":"x"}}');
    expect(requests.size).toBe(0);
  });
});
