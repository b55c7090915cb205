/**
 * What each role's code does in the IAM simulation, on DynamoDB Local, a fake Management API
 * (statuses on demand: 410, 500) and a local queue, with every AWS client recorded under the
 * code path that uses it. Each scenario exercises every kind of request its code path can send
 * (the coverage check in test/iam/grants.test.ts holds them to the runtime's send sites) and
 * checks the outcomes, so a request kind cannot silently drop out of a scenario.
 */
import { DeleteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { TRPCError } from '@trpc/server';
import { hookedHandlers, hookedSubscriptions, scenarioHandlers, scenarioSubscriptions } from './app';
import type { RequestRecorder } from './recorder';
import { dynamodb, dynamodbLedger, type SubscriptionStore, type WebSocketEvent } from '../../../lambda';
import { silentLogger, startLocalQueue, type LocalQueue } from '../../../lambda/local';
import { defaultManagementClientFactory } from '../../../lambda/management/client';
import { connectionKey } from '../../../lambda/store/keys';
import { connectEvent, disconnectEvent, messageEvent } from '../../lambda/support/events';
import type { FakeManagementApi } from '../../lambda/support/fake-management';
import { quietLogger } from '../../reliability/support/env';
import type { TestTable } from '../../support/dynamodb';

/** The code paths whose requests are recorded, and the roles that run them (test/iam/grants.test.ts). */
export type CodePath = 'handler' | 'rollover' | 'publisher' | 'control' | 'worker';

/** What every scenario runs on. */
export interface ScenarioEnv {
  readonly recorder: RequestRecorder;
  readonly table: TestTable;
  /** This stage's Management API (stage `prod`). */
  readonly api: FakeManagementApi;
  /** Multi-region: this Region and every Region's endpoint (this API's among them). */
  readonly regions?: { readonly region: string; readonly endpoints: Readonly<Record<string, string>> };
  /** Connection ids start with it, so scenarios sharing a table never meet. */
  readonly prefix: string;
  readonly logger: ReturnType<typeof quietLogger>;
}

const subscribe = (id: number, room: string, jsonrpc = false) => ({
  id, ...(jsonrpc ? { jsonrpc: '2.0' } : {}), method: 'subscription', params: { path: 'onMessage', input: { room } },
});

function subscriptionsOf(env: ScenarioEnv) {
  return env.regions ? scenarioSubscriptions.regions(env.regions) : scenarioSubscriptions;
}

function handlersOf(env: ScenarioEnv) {
  return env.regions ? scenarioHandlers.regions(env.regions) : scenarioHandlers;
}

function storeOn(env: ScenarioEnv, client: DynamoDBClient): SubscriptionStore {
  return dynamodb({ tableName: env.table.tableName, dynamoDBClient: client, pageSize: 2 });
}

/** The handlers of a code path: `client` for the store (recorded unless given), the recorded Management API. */
function handlers(env: ScenarioEnv, codePath: CodePath, client: DynamoDBClient = env.recorder.dynamodb(codePath)) {
  const options = {
    store: storeOn(env, client), logger: env.logger, endpoint: env.api.endpoint, managementClient: env.recorder.management(codePath),
  };
  const app = handlersOf(env);
  return { connect: app.connect(options), handler: app.handler(options), disconnect: app.disconnect(options) };
}

/** Handlers on the unrecorded test client: what sets a scenario up is nobody's request. */
function setupHandlers(env: ScenarioEnv) {
  const options = {
    store: storeOn(env, env.table.client), logger: env.logger, endpoint: env.api.endpoint, managementClient: defaultManagementClientFactory,
  };
  const app = handlersOf(env);
  return { connect: app.connect(options), handler: app.handler(options), disconnect: app.disconnect(options) };
}

/** Connects `ids` (as user `userId`) and subscribes each to `room` with ids 1..`perConnection`. */
async function connectSubscribers(
  env: ScenarioEnv, ids: readonly string[], room: string, perConnection = 1, userId = 'someone', path = 'onMessage',
): Promise<void> {
  const setup = setupHandlers(env);
  for (const id of ids) {
    expect(await setup.connect(event(env, connectEvent(id, { userId })))).toMatchObject({ statusCode: 200 });
    const requests = Array.from({ length: perConnection }, (_, index) => ({
      ...subscribe(index + 1, room, index === 0), params: { path, input: { room } },
    }));
    await setup.handler(event(env, messageEvent(id, requests.length === 1 ? requests[0] : requests)));
  }
}

/**
 * Room presence members: each connection (as its own user) joins `room` of the `lobby` presence
 * route (subscription 1) and subscribes to `onMessage` in the same room (subscription 2), so that
 * a publish to that room reaches it too.
 */
async function presenceMembers(env: ScenarioEnv, ids: readonly string[], room: string): Promise<void> {
  const setup = setupHandlers(env);
  for (const id of ids) {
    expect(await setup.connect(event(env, connectEvent(id, { userId: id })))).toMatchObject({ statusCode: 200 });
    const joined = await setup.handler(event(env, messageEvent(id, [
      { id: 1, method: 'subscription', params: { path: 'lobby', input: { room } } }, subscribe(2, room),
    ])));
    expect(frames(env.api, id).filter((frame) => frame.result?.type === 'started').length + (joined.body?.match(/started/g)?.length ?? 0)).toBe(2);
  }
}

/** The presence events `connectionId` got (`sync`, `join`, `leave`), in order. */
const presenceEventsOf = (api: FakeManagementApi, connectionId: string): string[] =>
  frames(api, connectionId).map((frame) => frame.result?.data?.type).filter((type) => ['sync', 'join', 'leave'].includes(type));

/** Events of this Region's API (the stage the scenarios' endpoint names). */
function event<T extends WebSocketEvent>(env: ScenarioEnv, value: T): T {
  const url = new URL(env.api.endpoint);
  return { ...value, requestContext: { ...value.requestContext, domainName: url.host, stage: url.pathname.slice(1) } };
}

/** Throws `error` instead of sending the requests `matches` picks: faults DynamoDB Local cannot produce. */
function failing(client: DynamoDBClient, matches: (command: string, input: Record<string, any>) => boolean): DynamoDBClient {
  client.middlewareStack.add((next, context) => async (args) => {
    if (matches(String(context.commandName).replace(/Command$/, ''), args.input as Record<string, any>)) {
      throw Object.assign(new Error('injected: DynamoDB is unavailable'), { name: 'ServiceUnavailable', $fault: 'server' });
    }
    return next(args);
  }, { step: 'initialize', priority: 'low', name: 'iamScenarioFault' });
  return client;
}

/** A DynamoDB that cancels transactions without the old items (`ALL_OLD` omitted), which the store covers with a read. */
function withoutCancellationItems(client: DynamoDBClient): DynamoDBClient {
  client.middlewareStack.add((next) => async (args) => {
    try {
      return await next(args);
    } catch (error) {
      for (const reason of (error as { CancellationReasons?: Array<{ Item?: unknown }> }).CancellationReasons ?? []) delete reason.Item;
      throw error;
    }
  }, { step: 'initialize', priority: 'low', name: 'iamScenarioNoOldItems' });
  return client;
}

const frames = (api: FakeManagementApi, connectionId: string) =>
  api.received.filter((request) => request.connectionId === connectionId && request.method === 'POST').map((request) => JSON.parse(request.body));

/**
 * `$connect`, `$default` and `$disconnect`: connecting (with a key, with params, refused at
 * `$connect` or at the params), a batch of subscribes (replies posted), duplicates, client stops
 * (stored and unknown ids), a subscribe after the connection is gone, a store failure during the
 * params, a resume from the history, and mutations that publish and control from inside `$default`.
 */
export async function handlerScenario(env: ScenarioEnv): Promise<void> {
  const { api, prefix } = env;
  const h = handlers(env, 'handler');
  const id = (name: string) => `${prefix}${name}`;
  // A connection with a key (the query's userId), a batch of three subscribes: two replies posted, one returned.
  expect(await h.connect(event(env, connectEvent(id('a'), { userId: 'ann' })))).toMatchObject({ statusCode: 200 });
  await h.handler(event(env, messageEvent(id('a'), [subscribe(1, 'r1', true), subscribe(2, 'r1'), subscribe(3, 'r2')])));
  expect(frames(api, id('a')).map((frame) => frame.result?.type)).toEqual(['started', 'started']);
  // A duplicate id; a client stop of a stored id and of an unknown one (a tombstone).
  expect(await h.handler(event(env, messageEvent(id('a'), subscribe(2, 'r1'))))).toMatchObject({ body: expect.stringContaining('Duplicate id 2') });
  expect(await h.handler(event(env, messageEvent(id('a'), { id: 3, method: 'subscription.stop' })))).toMatchObject({ body: expect.stringContaining('stopped') });
  await h.handler(event(env, messageEvent(id('a'), { id: 99, method: 'subscription.stop' })));
  // connectionParams: accepted (params and key written), refused (createContext throws), and a store that fails.
  await h.connect(event(env, connectEvent(id('p'), { connectionParams: '1' })));
  await h.handler(event(env, messageEvent(id('p'), { method: 'connectionParams', data: { userId: 'pat', token: 'secret' } })));
  expect(await h.handler(event(env, messageEvent(id('p'), subscribe(1, 'r1'))))).toMatchObject({ body: expect.stringContaining('started') });
  await h.connect(event(env, connectEvent(id('q'), { connectionParams: '1' })));
  await h.handler(event(env, messageEvent(id('q'), { method: 'connectionParams', data: { token: 'invalid' } })));
  await h.handler(event(env, messageEvent(id('q'), subscribe(1, 'r1'))));
  expect(api.received.some((request) => request.connectionId === id('q') && request.method === 'DELETE')).toBe(true);
  const broken = handlers(env, 'handler', failing(env.recorder.dynamodb('handler'), (command, input) => command === 'UpdateItem' && input.Key?.pk?.S === `CONN#${id('f')}`));
  await broken.connect(event(env, connectEvent(id('f'), { connectionParams: '1' })));
  await broken.handler(event(env, messageEvent(id('f'), { method: 'connectionParams', data: { userId: 'fay' } })));
  expect(api.received.some((request) => request.connectionId === id('f') && request.method === 'DELETE')).toBe(true);
  // Refused at $connect (the error frame kind): the next requests get the error, then the connection is closed.
  await h.connect(event(env, connectEvent(id('x'), { token: 'invalid' })));
  await h.handler(event(env, messageEvent(id('x'), [subscribe(1, 'r1'), subscribe(2, 'r1')])));
  expect(api.received.some((request) => request.connectionId === id('x') && request.method === 'DELETE')).toBe(true);
  // A DynamoDB that omits the old items of a cancelled transaction: the store reads them instead.
  const plain = handlers(env, 'handler', withoutCancellationItems(env.recorder.dynamodb('handler')));
  expect(await plain.handler(event(env, messageEvent(id('a'), subscribe(1, 'r1'))))).toMatchObject({ body: expect.stringContaining('Duplicate id 1') });
  // The connection is gone (its row deleted) while this instance still has it cached.
  await plain.handler(event(env, messageEvent(id('a'), subscribe(7, 'r3'))));
  await storeOn(env, env.table.client).removeConnection(id('a'));
  expect(await plain.handler(event(env, messageEvent(id('a'), subscribe(8, 'r3'))))).not.toMatchObject({ body: expect.stringContaining('started') });
  // Mutations: events appended to the history, then a subscription resuming from the first (replayed, fenced).
  await h.connect(event(env, connectEvent(id('h'), { userId: 'hal' })));
  const first = await h.handler(event(env, messageEvent(id('h'), { id: 1, method: 'mutation', params: { path: 'event', input: { room: 'hist' } } })));
  const firstEventId = JSON.parse(first.body!).result.data.eventId as string;
  await h.handler(event(env, messageEvent(id('h'), { id: 2, method: 'mutation', params: { path: 'event', input: { room: 'hist' } } })));
  await h.handler(event(env, messageEvent(id('h'), {
    id: 3, method: 'subscription', params: { path: 'onEvent', input: { room: 'hist' }, lastEventId: firstEventId },
  })));
  expect(frames(api, id('h')).some((frame) => frame.id === 3 && frame.result?.type === 'data')).toBe(true);
  // A resume from an id the history never issued: the latest event is read to tell it from an expired one.
  const neverIssued = String(Number(firstEventId) + 1e9).padStart(16, '0');
  const unknown = await h.handler(event(env, messageEvent(id('h'), {
    id: 6, method: 'subscription', params: { path: 'onEvent', input: { room: 'hist' }, lastEventId: neverIssued },
  })));
  expect(unknown.body).toContain('Unknown event');
  // Initial state on a route with a history: the first subscriber appends a marker (the history holds
  // nothing), the next goes live after the state's last id (that marker), both fenced.
  const fresh = await h.handler(event(env, messageEvent(id('h'), { id: 10, method: 'subscription', params: { path: 'onState', input: {} } })));
  expect(fresh.body).toContain('started');
  const marker = (await storeOn(env, env.table.client).readLastEvent!('onState'))!.eventId;
  const next = await h.handler(event(env, messageEvent(id('h'), { id: 11, method: 'subscription', params: { path: 'onState', input: { from: marker } } })));
  expect(next.body).toContain('started');
  expect(frames(api, id('h')).filter((frame) => frame.id === 11).map((frame) => frame.result?.id)).toEqual([marker]);
  // A publish from inside a mutation, one subscriber gone (410: its rows removed).
  await connectSubscribers(env, [id('s1'), id('s2')], 'pub');
  api.always(id('s2'), 410);
  const sent = await h.handler(event(env, messageEvent(id('h'), { id: 4, method: 'mutation', params: { path: 'send', input: { room: 'pub' } } })));
  expect(JSON.parse(sent.body!).result.data).toMatchObject({ delivered: 1, gone: 1 });
  // Control from inside a mutation: stop a room, presence, reconnect and disconnect a key.
  await connectSubscribers(env, [id('k1')], 'kick', 1, 'kim');
  const kicked = await h.handler(event(env, messageEvent(id('h'), { id: 5, method: 'mutation', params: { path: 'kick', input: { room: 'kick', userId: 'kim' } } })));
  expect(JSON.parse(kicked.body!).result.data).toMatchObject({
    stop: { stopped: 1 }, online: true, reconnect: { succeeded: 1 }, disconnect: { succeeded: 1 },
  });
  expect(await h.disconnect(event(env, disconnectEvent(id('p'))))).toMatchObject({ statusCode: 200 });
  // Room presence: Mia joins (the room's sync), Max joins (his join reaches Mia), Max stops (his
  // leave reaches Mia), Mia's connection closes (its pointers found by Query, her leave).
  const lobby = (subscriptionId: number) => ({ id: subscriptionId, method: 'subscription', params: { path: 'lobby', input: { room: 'lobby' } } });
  const presenceEvents = (connectionId: string) => frames(api, connectionId).map((frame) => frame.result?.data?.type).filter(Boolean);
  for (const [name, userId] of [['m1', 'mia'], ['m2', 'max']]) {
    await h.connect(event(env, connectEvent(id(name), { userId })));
    expect(await h.handler(event(env, messageEvent(id(name), lobby(1))))).toMatchObject({ body: expect.stringContaining('started') });
  }
  await h.handler(event(env, messageEvent(id('m2'), { id: 1, method: 'subscription.stop' })));
  expect(presenceEvents(id('m1'))).toEqual(['sync', 'join', 'leave']);
  expect(await h.disconnect(event(env, disconnectEvent(id('m1'))))).toMatchObject({ statusCode: 200 });
  // The only error: the injected store failure.
  expect(env.logger.entries.filter((entry) => entry.level === 'error' && !/injected/.test(entry.message))).toEqual([]);
}

/** The scheduled rollover: connections of the last minutes told to reconnect, a gone one removed. */
export async function rolloverScenario(env: ScenarioEnv): Promise<void> {
  const { api, prefix } = env;
  await connectSubscribers(env, [`${prefix}old1`, `${prefix}old2`], 'roll');
  api.always(`${prefix}old2`, 410);
  const rollover = subscriptionsOf(env).rollover({
    store: storeOn(env, env.recorder.dynamodb('rollover')),
    managementClient: env.recorder.management('rollover'),
    endpoint: api.endpoint,
    logger: env.logger,
    olderThanMs: 1,
    maxConnectionMs: 10 * 60_000,
  });
  // A presence member whose $disconnect was lost: the notification's 410 releases its presence.
  await presenceMembers(env, [`${prefix}stay`, `${prefix}gone`], 'lobby-r');
  api.always(`${prefix}gone`, 410);
  const result = await rollover();
  expect(result.succeeded).toBeGreaterThanOrEqual(1);
  expect(result.gone).toBeGreaterThanOrEqual(2);
  expect(presenceEventsOf(api, `${prefix}stay`)).toEqual(['sync', 'join', 'leave']);
}

/** A publisher of a code path (`grantPublish`, `PublisherFunction` and `grantControl` run the same code). */
function publisherOf(env: ScenarioEnv, codePath: CodePath, store?: SubscriptionStore, queue?: LocalQueue) {
  return subscriptionsOf(env).publisher({
    store: store ?? storeOn(env, env.recorder.dynamodb(codePath)),
    managementClient: env.recorder.management(codePath),
    endpoint: env.api.endpoint,
    logger: env.logger,
    ...(queue ? { queueUrl: queue.url, sqsClient: env.recorder.sqs(codePath, queue.endpoint) } : {}),
  });
}

/**
 * A publisher: filtered and unfiltered publishes (a gone subscriber's rows removed), a publish to
 * a route with a history, `enqueue()` (plain and with a history), and `publisher.connections`:
 * presence, reconnect and disconnect by id, by key and of every connection.
 */
export async function publisherScenario(env: ScenarioEnv, queue: LocalQueue): Promise<void> {
  const { api, prefix } = env;
  const ids = [`${prefix}1`, `${prefix}2`, `${prefix}3`];
  await connectSubscribers(env, ids, 'news', 3, 'pam');
  api.always(ids[2], 410);
  const publisher = publisherOf(env, 'publisher', undefined, queue);
  expect(await publisher.routes.onMessage.publish({ data: { text: 'x' }, filter: { name: 'byRoom', input: { room: 'news' } } }))
    .toMatchObject({ delivered: 6, gone: 3 });
  expect(await publisher.routes.onMessage.publish({ data: { text: 'y' } })).toMatchObject({ failed: 0 });
  expect(await publisher.routes.onEvent.publish({ data: { n: 1 } })).toMatchObject({ eventId: expect.any(String) });
  expect(await publisher.routes.onMessage.enqueue({ data: { text: 'q' }, filter: { name: 'byRoom', input: { room: 'nobody' } } }))
    .toMatchObject({ messageId: expect.any(String) });
  expect(await publisher.routes.onEvent.enqueue({ data: { n: 2 } })).toMatchObject({ eventId: expect.any(String) });
  expect(await publisher.connections.isOnline('user:pam')).toBe(true);
  expect(await publisher.connections.count('user:pam')).toBeGreaterThanOrEqual(2);
  expect(await publisher.connections.reconnect({ connectionId: ids[0] })).toMatchObject({ succeeded: 1 });
  expect(await publisher.connections.reconnect({ key: 'user:pam' })).toMatchObject({ failed: 0 });
  expect(await publisher.connections.reconnect({ all: true })).toMatchObject({ failed: 0 });
  expect(await publisher.connections.disconnect({ connectionId: ids[1] })).toMatchObject({ succeeded: 1 });
  expect(await publisher.connections.disconnect({ key: 'user:pam' })).toMatchObject({ failed: 0 });
  // A connection whose row its $disconnect removed first: a disconnect by key removes the key
  // and age rows it names, so presence is right at once.
  await connectSubscribers(env, [`${prefix}4`], 'news', 1, 'ola');
  await deleteConnectionRow(env, `${prefix}4`);
  expect(await publisher.connections.disconnect({ key: 'user:ola' })).toMatchObject({ succeeded: 1 });
  expect(await publisher.connections.count('user:ola')).toBe(0);
  // Room presence: the members of a room and their count (a Query of the room's member rows).
  await connectSubscribers(env, [`${prefix}5`], 'lobby', 1, 'lea', 'lobby');
  expect(await publisher.routes.lobby.members({ input: { room: 'lobby' } })).toEqual([expect.objectContaining({ key: 'user:lea', data: { name: 'lea' } })]);
  expect(await publisher.routes.lobby.countMembers({ input: { room: 'lobby' } })).toBe(1);
  // A presence member whose $disconnect was lost: the publish's 410 releases its presence (the
  // pointers' Query, their deletes, the member row's updates) and its leave reaches the other.
  await presenceMembers(env, [`${prefix}6`, `${prefix}7`], 'lobby-p');
  api.always(`${prefix}7`, 410);
  expect(await publisher.routes.onMessage.publish({ data: { text: 'z' }, filter: { name: 'byRoom', input: { room: 'lobby-p' } } }))
    .toMatchObject({ delivered: 1, gone: 1 });
  expect(presenceEventsOf(api, `${prefix}6`)).toEqual(['sync', 'join', 'leave']);
  expect(await publisher.routes.lobby.countMembers({ input: { room: 'lobby-p' } })).toBe(1);
}

/**
 * `grantControl`'s own code: stops (with an error, without a filter), a stop that finds a
 * subscription a client stopped meanwhile (a tombstone), and a stop that meets a gone connection.
 */
export async function controlScenario(env: ScenarioEnv): Promise<void> {
  const { api, prefix } = env;
  const ids = [`${prefix}1`, `${prefix}2`, `${prefix}3`];
  await connectSubscribers(env, ids, 'mod', 2);
  await connectSubscribers(env, [`${prefix}4`], 'other', 1);
  const recorded = storeOn(env, env.recorder.dynamodb('control'));
  // The Query found a subscription a client's stop removed before the server's: a tombstone.
  const store: SubscriptionStore = Object.assign(Object.create(recorded), {
    async *findSubscribers(query: Parameters<SubscriptionStore['findSubscribers']>[0]) {
      yield* recorded.findSubscribers(query);
      if (query.filter?.values[0] === 'mod') yield [{ connectionId: ids[2], subscriptionId: 77 }];
    },
  });
  const publisher = publisherOf(env, 'control', store);
  const failed = await publisher.routes.onMessage.stop({ filter: { name: 'byRoom', input: { room: 'mod' } }, error: new TRPCError({ code: 'FORBIDDEN' }) });
  expect(failed).toMatchObject({ stopped: 7, failed: 0 });
  api.always(`${prefix}4`, 410);
  expect(await publisher.routes.onMessage.stop({})).toMatchObject({ gone: 1, failed: 0 });
  await connectSubscribers(env, [`${prefix}5`], 'last', 1);
  expect(await publisher.routes.onMessage.stop({ filter: { name: 'byRoom', input: { room: 'last' } } })).toMatchObject({ stopped: 1 });
  // A connection whose row its $disconnect removed first: the stop deletes the subscription
  // without the connection's count.
  await connectSubscribers(env, [`${prefix}6`], 'orphan', 1);
  await deleteConnectionRow(env, `${prefix}6`);
  expect(await publisher.routes.onMessage.stop({ filter: { name: 'byRoom', input: { room: 'orphan' } } })).toMatchObject({ stopped: 1 });
}

/** Deletes only a connection's own row, as its $disconnect's first write does. */
async function deleteConnectionRow(env: ScenarioEnv, connectionId: string): Promise<void> {
  const { pk, sk } = connectionKey(connectionId);
  await env.table.client.send(new DeleteItemCommand({ TableName: env.table.tableName, Key: { pk: { S: pk }, sk: { S: sk } } }));
}

/** Virtual subscribers: rows only (the fake Management API answers their posts). */
async function virtualSubscribers(env: ScenarioEnv, ids: readonly string[], room: string): Promise<void> {
  const store = storeOn(env, env.table.client);
  const expireAt = Math.floor(Date.now() / 1000) + 3600;
  const region = env.regions?.region;
  await Promise.all(ids.map(async (connectionId) => {
    const regionOf = region ? { region } : {};
    await store.putConnection({ connectionId, connectedAt: Date.now(), expireAt, awaitingConnectionParams: false, connect: {}, ...regionOf });
    expect(await store.addSubscription({
      connectionId, subscriptionId: 1, path: 'onMessage', expireAt, filters: [{ name: 'byRoom', values: [room] }], ...regionOf,
    })).toBe('created');
  }));
}

/** A local queue whose handler is the worker of the moment (`setWorker`). */
export async function startScenarioQueue(): Promise<{ queue: LocalQueue; setWorker(worker: Parameters<typeof startLocalQueue>[0]['handler']): void }> {
  let worker: Parameters<typeof startLocalQueue>[0]['handler'] = async () => undefined;
  const queue = await startLocalQueue({
    handler: (batch) => worker(batch), visibilityTimeoutMs: 300, maxReceiveCount: 3, concurrency: 2, logger: silentLogger,
  });
  return { queue, setWorker: (next) => { worker = next; } };
}

/**
 * The fan-out worker behind a local queue: publishes split as they are read (one instance) and
 * cut evenly (two instances, held and released), more than ten delivery batches at once, a
 * first batch left unfinished (queued again), a gone target, and EventBridge events mapped to a
 * route with a history (appended once) and to one without. The publisher's `enqueue()` (recorded
 * as the publisher's) feeds it.
 */
export async function workerScenario(env: ScenarioEnv, scenarioQueue: Awaited<ReturnType<typeof startScenarioQueue>>): Promise<void> {
  const { api, prefix } = env;
  const { queue } = scenarioQueue;
  const many = Array.from({ length: 13 }, (_, index) => `${prefix}w${index}`);
  await virtualSubscribers(env, many, 'w');
  await virtualSubscribers(env, [`${prefix}s1`, `${prefix}s2`, `${prefix}s3`], 'small');
  await virtualSubscribers(env, [`${prefix}fail`], 'fail');
  api.always(many[12], 410);
  api.always(`${prefix}fail`, 500);
  const worker = (instances: number, sqsClient = env.recorder.sqs('worker', queue.endpoint)) => subscriptionsOf(env).worker({
    store: storeOn(env, env.recorder.dynamodb('worker')),
    ledger: dynamodbLedger({ tableName: env.table.tableName, dynamoDBClient: env.recorder.dynamodb('worker') }),
    managementClient: env.recorder.management('worker'),
    endpoint: api.endpoint,
    sqsClient,
    queueUrl: queue.url,
    deliveryBatchSize: 1,
    instances,
    maxAttempts: 1,
    leaseMs: 250,
    logger: env.logger,
    events: (received, routes) => (received['detail-type'] === 'History'
      ? routes.onEvent.publish({ data: { n: 3 }, filter: { name: 'byRoom', input: { room: 'small' } } })
      : routes.onMessage.publish({ data: { text: 'from an event' }, filter: { name: 'byRoom', input: { room: 'small' } } })),
  });
  const enqueue = publisherOf(env, 'publisher', undefined, queue).routes.onMessage.enqueue;
  const delivered = (id: string) => api.received.filter((request) => request.connectionId === id && request.method === 'POST').length;
  // One instance: cut as read, thirteen batches (ten queued in one request, then the rest); a
  // publish whose only batch (closed after the read) fails: queued again, retried, dead-lettered.
  scenarioQueue.setWorker(worker(1));
  await enqueue({ data: { text: 'a' }, filter: { name: 'byRoom', input: { room: 'w' } } });
  await enqueue({ data: { text: 'd' }, filter: { name: 'byRoom', input: { room: 'fail' } } });
  await queue.drained();
  expect(many.slice(0, 12).every((id) => delivered(id) === 1)).toBe(true);
  // Two instances: twelve targets held, then released as read; three targets cut evenly.
  scenarioQueue.setWorker(worker(2));
  await enqueue({ data: { text: 'b' }, filter: { name: 'byRoom', input: { room: 'w' } } });
  await enqueue({ data: { text: 'c' }, filter: { name: 'byRoom', input: { room: 'small' } } });
  // EventBridge events (a rule's SQS target sends them, not the runtime).
  for (const [index, detailType] of ['History', 'Plain'].entries()) {
    queue.send(JSON.stringify({ 'version': '0', 'id': `${prefix}e${index}`, 'detail-type': detailType, 'source': 'iam.test', 'detail': {} }));
  }
  await queue.drained();
  expect(many.slice(0, 12).every((id) => delivered(id) === 2)).toBe(true);
  // `c` and the Plain event (the History one goes to `onEvent`, which they did not subscribe to).
  expect(delivered(`${prefix}s1`)).toBe(2);
  expect(queue.deadLetters().length).toBe(1);
  // A split that dies after saving its cut batches (its first queue send fails): SQS hands the
  // publish out again and the retry queues the batches it finds saved, each subscriber once.
  const retried = Array.from({ length: 4 }, (_, index) => `${prefix}r${index}`);
  await virtualSubscribers(env, retried, 'retry');
  scenarioQueue.setWorker(worker(1, failingOnce(env.recorder.sqs('worker', queue.endpoint), 'SendMessageBatch')));
  await enqueue({ data: { text: 'r' }, filter: { name: 'byRoom', input: { room: 'retry' } } });
  await queue.drained();
  expect(retried.map(delivered)).toEqual([1, 1, 1, 1]);
  expect(queue.deadLetters().length).toBe(1);
  // A presence member whose $disconnect was lost: the worker's 410 releases its presence, and
  // its leave reaches the other member.
  await presenceMembers(env, [`${prefix}p1`, `${prefix}p2`], 'lobby-w');
  api.always(`${prefix}p2`, 410);
  await enqueue({ data: { text: 'p' }, filter: { name: 'byRoom', input: { room: 'lobby-w' } } });
  await queue.drained();
  expect(presenceEventsOf(api, `${prefix}p1`)).toEqual(['sync', 'join', 'leave']);
}

/** Fails the first request named `command` a client sends (a fault SQS Local cannot produce on demand). */
function failingOnce(client: SQSClient, command: string): SQSClient {
  let failed = false;
  client.middlewareStack.add((next, context) => async (args) => {
    if (!failed && context.commandName === `${command}Command`) {
      failed = true;
      throw Object.assign(new Error(`injected: ${command} failed`), { name: 'ServiceUnavailable', $fault: 'server' });
    }
    return next(args);
  }, { step: 'initialize', priority: 'low', name: 'iamScenarioFailOnce' });
  return client;
}

/**
 * One Region of two (`env`, with `other` for the second Region's own connections): a publish, a
 * publish inside a mutation, the worker and `enqueue()` reach subscribers of both Regions, each
 * through its Region's API (a gone one in the other Region removed); a stop of this Region's
 * subscription; the rollover acts on this Region's connections only.
 */
export async function multiRegionScenario(
  env: ScenarioEnv, other: ScenarioEnv, scenarioQueue: Awaited<ReturnType<typeof startScenarioQueue>>,
): Promise<void> {
  const { prefix } = env;
  const here = [`${prefix}a1`];
  const there = [`${prefix}b1`, `${prefix}b2`];
  await connectSubscribers(env, here, 'mr');
  await connectSubscribers(other, there, 'mr');
  other.api.always(there[1], 410);
  const posted = (api: FakeManagementApi, id: string) => api.received.filter((request) => request.connectionId === id && request.method === 'POST').length;
  expect(await publisherOf(env, 'publisher').routes.onMessage.publish({ data: { text: 'x' }, filter: { name: 'byRoom', input: { room: 'mr' } } }))
    .toMatchObject({ delivered: 2, gone: 1, failed: 0 });
  expect(posted(other.api, there[0])).toBe(1);
  // A publish from inside a mutation of this Region's handlers.
  const h = handlers(env, 'handler');
  await h.connect(event(env, connectEvent(`${prefix}sender`, { userId: 'sam' })));
  const sent = await h.handler(event(env, messageEvent(`${prefix}sender`, { id: 1, method: 'mutation', params: { path: 'send', input: { room: 'mr' } } })));
  expect(JSON.parse(sent.body!).result.data).toMatchObject({ delivered: 2, failed: 0 });
  // The worker: targets of both Regions.
  const { queue } = scenarioQueue;
  await virtualSubscribers(env, [`${prefix}va`], 'mrq');
  await virtualSubscribers(other, [`${prefix}vb`], 'mrq');
  scenarioQueue.setWorker(subscriptionsOf(env).worker({
    store: storeOn(env, env.recorder.dynamodb('worker')),
    ledger: dynamodbLedger({ tableName: env.table.tableName, dynamoDBClient: env.recorder.dynamodb('worker') }),
    managementClient: env.recorder.management('worker'),
    endpoint: env.api.endpoint,
    sqsClient: env.recorder.sqs('worker', queue.endpoint),
    queueUrl: queue.url,
    logger: env.logger,
  }));
  await publisherOf(env, 'publisher', undefined, queue).routes.onMessage.enqueue({ data: { text: 'q' }, filter: { name: 'byRoom', input: { room: 'mrq' } } });
  await queue.drained();
  expect([posted(env.api, `${prefix}va`), posted(other.api, `${prefix}vb`)]).toEqual([1, 1]);
  // A stop of this Region's subscription, and the rollover (this Region's connections only).
  await connectSubscribers(env, [`${prefix}a2`], 'mrs');
  expect(await publisherOf(env, 'control').routes.onMessage.stop({ filter: { name: 'byRoom', input: { room: 'mrs' } } })).toMatchObject({ stopped: 1 });
  const rollover = subscriptionsOf(env).rollover({
    store: storeOn(env, env.recorder.dynamodb('rollover')),
    managementClient: env.recorder.management('rollover'),
    endpoint: env.api.endpoint,
    logger: env.logger,
    olderThanMs: 1,
    maxConnectionMs: 10 * 60_000,
  });
  expect((await rollover()).succeeded).toBeGreaterThanOrEqual(1);
  expect(other.api.received.filter((request) => request.method === 'POST' && request.body.includes('reconnect'))).toEqual([]);
}

/**
 * Lifecycle hooks, in every role that ends something: `$default` (a client's stop; a reply that
 * meets a gone connection), `$disconnect`, a publisher (a 410; reconnect and disconnect mark the
 * connection first), a controller (a stop), the worker (a 410) and the rollover (a notified
 * connection is marked; its sweep ends a connection past the lifetime).
 */
export async function hooksScenario(env: ScenarioEnv, scenarioQueue: Awaited<ReturnType<typeof startScenarioQueue>>): Promise<void> {
  const { api, prefix } = env;
  const id = (name: string) => `${prefix}${name}`;
  const store = (codePath: CodePath) => storeOn(env, env.recorder.dynamodb(codePath));
  const options = (codePath: CodePath) => ({
    store: store(codePath), logger: env.logger, endpoint: api.endpoint, managementClient: env.recorder.management(codePath),
  });
  const setup = {
    store: storeOn(env, env.table.client), logger: env.logger, endpoint: api.endpoint, managementClient: defaultManagementClientFactory,
  };
  const connectHooked = async (ids: readonly string[], room: string) => {
    for (const connectionId of ids) {
      await hookedHandlers.connect(setup)(event(env, connectEvent(connectionId, { userId: 'hoo' })));
      await hookedHandlers.handler(setup)(event(env, messageEvent(connectionId, subscribe(1, room))));
    }
  };
  // $default: a subscribe (onSubscribe's state kept), a client's stop, a stop before the start.
  const h = { connect: hookedHandlers.connect(options('handler')), handler: hookedHandlers.handler(options('handler')), disconnect: hookedHandlers.disconnect(options('handler')) };
  await h.connect(event(env, connectEvent(id('a'), { userId: 'ann' })));
  expect(await h.handler(event(env, messageEvent(id('a'), subscribe(1, 'hk'))))).toMatchObject({ body: expect.stringContaining('started') });
  expect(await h.handler(event(env, messageEvent(id('a'), { id: 1, method: 'subscription.stop' })))).toMatchObject({ body: expect.stringContaining('stopped') });
  await h.handler(event(env, messageEvent(id('a'), { id: 9, method: 'subscription.stop' })));
  // A batch whose first reply finds the connection gone (410).
  await h.connect(event(env, connectEvent(id('b'), { userId: 'bea' })));
  await h.handler(event(env, messageEvent(id('b'), subscribe(1, 'hk'))));
  api.always(id('b'), 410);
  await h.handler(event(env, messageEvent(id('b'), [subscribe(2, 'hk'), subscribe(3, 'hk')])));
  // $disconnect.
  await h.handler(event(env, messageEvent(id('a'), subscribe(2, 'hk'))));
  expect(await h.disconnect(event(env, disconnectEvent(id('a'))))).toMatchObject({ statusCode: 200 });
  // A publisher: a 410 ends a connection; reconnect and disconnect mark theirs first.
  await connectHooked([id('p1'), id('p2')], 'hp');
  api.always(id('p2'), 410);
  const publisher = hookedSubscriptions.publisher(options('publisher'));
  expect(await publisher.routes.onMessage.publish({ data: { text: 'x' }, filter: { name: 'byRoom', input: { room: 'hp' } } })).toMatchObject({ delivered: 1, gone: 1 });
  expect(await publisher.connections.reconnect({ connectionId: id('p1') })).toMatchObject({ succeeded: 1 });
  expect(await publisher.connections.disconnect({ connectionId: id('p1') })).toMatchObject({ succeeded: 1 });
  // A controller's stop.
  await connectHooked([id('c1')], 'hc');
  expect(await hookedSubscriptions.publisher(options('control')).routes.onMessage.stop({ filter: { name: 'byRoom', input: { room: 'hc' } } }))
    .toMatchObject({ stopped: 1 });
  // A stop whose connection row its $disconnect removed first: deleted without the connection's count.
  await connectHooked([id('c2')], 'hc2');
  await deleteConnectionRow(env, id('c2'));
  expect(await hookedSubscriptions.publisher(options('control')).routes.onMessage.stop({ filter: { name: 'byRoom', input: { room: 'hc2' } } }))
    .toMatchObject({ stopped: 1 });
  // The worker: a 410 during a queued delivery.
  await connectHooked([id('w1')], 'hw');
  api.always(id('w1'), 410);
  scenarioQueue.setWorker(hookedSubscriptions.worker({
    ...options('worker'),
    ledger: dynamodbLedger({ tableName: env.table.tableName, dynamoDBClient: env.recorder.dynamodb('worker') }),
    sqsClient: env.recorder.sqs('worker', scenarioQueue.queue.endpoint),
    queueUrl: scenarioQueue.queue.url,
    maxAttempts: 1,
    logger: env.logger,
  }));
  await hookedSubscriptions.publisher({ ...setup, queueUrl: scenarioQueue.queue.url }).routes.onMessage
    .enqueue({ data: { text: 'q' }, filter: { name: 'byRoom', input: { room: 'hw' } } });
  await scenarioQueue.queue.drained();
  expect(await setup.store.findConnection(id('w1'))).toBeUndefined();
  // The rollover: a connection to notify (marked), one past the lifetime (swept).
  await connectHooked([id('r1'), id('r2')], 'hr');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const rollover = hookedSubscriptions.rollover({ ...options('rollover'), olderThanMs: 1, maxConnectionMs: 10 * 60_000, sweepAfterMs: 0 });
  expect(await rollover()).toMatchObject({ succeeded: expect.any(Number) });
  const sweep = hookedSubscriptions.rollover({ ...options('rollover'), olderThanMs: 1, maxConnectionMs: 20, sweepAfterMs: 0 });
  expect((await sweep()).expired).toBeGreaterThanOrEqual(1);
}
