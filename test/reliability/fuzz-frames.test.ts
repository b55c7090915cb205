import fc from 'fast-check';
import superjson from 'superjson';
import { dynamodb, memory, type SubscriptionStore, type WebSocketEvent } from '../../lambda';
import { expectationOfFrame, frameCase, jsonTree, type FrameCase } from './support/arbitraries';
import { checkReplies } from './support/check';
import { fcParams, quietLogger, trackUnhandled } from './support/env';
import { assertNoPrototypePollution, parseServerFrame } from './support/frames';
import { startFakeManagementApi, type FakeManagementApi } from '../lambda/support/fake-management';
import { inconsistentRows, scanRows, subscriptionsIn } from '../support/dynamodb';
import { createTestTable, type TestTable } from '../support/dynamodb';

/**
 * Property tests of the `$default` handler under hostile frames: the example app's router in
 * production mode, a memory store, and a real HTTP server playing the Management API (replies
 * beyond the route response go through PostToConnection). Every run: the handler resolves, every
 * frame is a valid tRPC response for the right id, and the store holds exactly the subscriptions
 * answered `started`.
 */
type App = typeof import('../fixtures/router');
let app: App;
let api: FakeManagementApi;
let table: TestTable;
const unhandled = trackUnhandled();
const previousEnv = process.env.NODE_ENV;
/** The handler's default cap on requests per frame. */
const MAX_BATCH = 100;

beforeAll(async () => {
  process.env.NODE_ENV = 'production';
  app = await import('../fixtures/router');
  api = await startFakeManagementApi();
  table = await createTestTable('fuzz');
});
afterAll(async () => {
  process.env.NODE_ENV = previousEnv;
  unhandled.dispose();
  await api.close();
  table.client.destroy();
});
afterEach(() => {
  expect(unhandled.errors).toEqual([]);
  assertNoPrototypePollution();
});

let connectionCounter = 0;

const sub = (id: string, input: string) => `{"id":${id},"method":"subscription","params":{"path":"onMessage","input":${input}}}`;
const room = (value: string) => JSON.stringify(superjson.serialize({ room: value }));
/** Known-hostile frames every run starts with (the generators reach them only by chance). */
const HOSTILE_EXAMPLES: FrameCase[] = [
  sub('1e400', room('a')),
  `[${sub('1', room('a'))},{"id":1,"method":"subscription.stop"},${sub('1', room('a'))},${sub('"1"', room('a'))},{"id":"x","method":"nope"},1,null,[]]`,
  sub('2', '{"json":{"room":"a","__proto__":{"polluted":true}}}'),
  sub('3', '{"json":{"room":"a"},"meta":{"values":{"__proto__.polluted":["undefined"]}}}'),
  sub('4', '{"json":{"room":"a"},"meta":{"referentialEqualities":{"room":["constructor.prototype.polluted"]}}}'),
  sub(JSON.stringify('i'.repeat(20_000)), room('a')),
  sub('5', room('r'.repeat(110_000))),
  `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
  sub('6', `{"json":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`),
  '{"id":7,"method":"subscription","params":{"path":"__proto__","input":{"json":{}}}}',
  '{"id":8,"method":"query","params":{"path":"constructor","input":{"json":{}}}}',
  '{"id":9,"method":"subscription.stop","params":{"path":"onMessage"}}',
  '[]',
].map((body) => ({ body, isBase64Encoded: false, label: 'example' }));
HOSTILE_EXAMPLES.push({ body: Buffer.from(sub('10', room('b'))).toString('base64'), isBase64Encoded: true, label: 'binary example' });
HOSTILE_EXAMPLES.push({ body: Buffer.from([0xff, 0xfe, 0x00, 0x7b]).toString('base64'), isBase64Encoded: true, label: 'binary garbage' });

function event(connectionId: string, frame: Pick<FrameCase, 'body' | 'isBase64Encoded'>): WebSocketEvent {
  return {
    requestContext: { connectionId, routeKey: '$default', eventType: 'MESSAGE', domainName: '127.0.0.1:1', stage: 'test', messageId: 'm' },
    body: frame.body,
    isBase64Encoded: frame.isBase64Encoded,
  };
}

/** Connects a fresh connection, sends one frame, returns every frame sent back (posts, then the route response). */
async function exchange(store: SubscriptionStore, frame: Pick<FrameCase, 'body' | 'isBase64Encoded'>, query?: Record<string, string>) {
  const connectionId = `fuzz-${++connectionCounter}`;
  const logger = quietLogger();
  const connect = app.appSubscriptions.connect({ store, logger });
  const handler = app.appSubscriptions.handler({ store, logger, endpoint: api.endpoint, connectionParamsTimeoutMs: 50 });
  await connect({ requestContext: { connectionId, routeKey: '$connect', eventType: 'CONNECT', connectedAt: Date.now() }, queryStringParameters: query ?? null });
  const result = await handler(event(connectionId, frame));
  expect(result.statusCode).toBe(200);
  const posted = api.received.filter((request) => request.connectionId === connectionId);
  const frames = [...posted.filter((request) => request.method === 'POST').map((request) => request.body), ...(result.body === undefined ? [] : [result.body])];
  return { connectionId, frames, deleted: posted.some((request) => request.method === 'DELETE'), logger };
}

test('any frame: valid replies for the right ids, no throw, and only started subscriptions are stored', async () => {
  await fc.assert(
    fc.asyncProperty(frameCase, async (frame) => {
      const store = memory();
      const { connectionId, frames } = await exchange(store, frame);
      const stored = store.subscriptionsOf(connectionId);
      checkReplies(expectationOfFrame(frame, MAX_BATCH), frames, stored);
      expect(store.connectionCount()).toBe(1);
      assertNoPrototypePollution();
    }),
    { ...fcParams<[FrameCase]>(200), examples: HOSTILE_EXAMPLES.map((frame): [FrameCase] => [frame]) },
  );
});

test('dynamodb() on DynamoDB Local: the table holds exactly the rows of the subscriptions answered started, none partial', async () => {
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  await fc.assert(
    fc.asyncProperty(frameCase, async (frame) => {
      const { connectionId, frames } = await exchange(store, frame);
      const rows = await scanRows(table.client, table.tableName);
      checkReplies(expectationOfFrame(frame, MAX_BATCH), frames, subscriptionsIn(rows, connectionId));
      expect(inconsistentRows(rows)).toEqual([]);
      // Nothing but this connection's rows and those of earlier runs' connections.
      expect(rows.filter((row) => typeof row.connectionId !== 'string')).toEqual([]);
      assertNoPrototypePollution();
    }),
    { ...fcParams<[FrameCase]>(60), examples: HOSTILE_EXAMPLES.map((frame): [FrameCase] => [frame]) },
  );
});

test('connectionParams frames of any shape: accepted, or refused with one id-null error and the row marked refused, params not stored', async () => {
  const params = fc.oneof(
    fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), { maxKeys: 4 }).map((data) => JSON.stringify(data)),
    fc.constantFrom('null', '{"__proto__":{"isAdmin":"1"}}', '{"constructor":"x"}', '{"userId":1}', '[]', '"x"', '1', `{"blob":"${'x'.repeat(5000)}"}`),
    jsonTree,
  );
  await fc.assert(
    fc.asyncProperty(params, fc.boolean(), async (data, withMethod) => {
      const store = memory();
      const body = withMethod ? `{"method":"connectionParams","data":${data}}` : '{"method":"connectionParams"}';
      const { connectionId, frames, deleted } = await exchange(store, { body, isBase64Encoded: false }, { connectionParams: '1' });
      const parsed = JSON.parse(body) as { data?: unknown };
      // tRPC's rule: null, or an object of strings; ours: at most 4096 bytes of JSON.
      const valid = parsed.data === null
        || (typeof parsed.data === 'object' && !Array.isArray(parsed.data) && Object.values(parsed.data).every((value) => typeof value === 'string')
          && Buffer.byteLength(JSON.stringify(parsed.data)) <= 4096);
      if (valid && !JSON.stringify(parsed.data ?? null).includes('"token":"invalid"')) {
        expect(frames).toEqual([]);
        expect(deleted).toBe(false);
        const connection = await store.getConnection(connectionId);
        expect(connection?.awaitingConnectionParams).toBe(false);
      } else {
        expect(frames).toHaveLength(1);
        expect(parseServerFrame(frames[0])).toMatchObject({ kind: 'error', id: null });
        // Closed by its first request (which gets the error for its id), or by the idle timeout.
        expect(deleted).toBe(false);
        const connection = await store.getConnection(connectionId);
        // The row keeps the frame the client got, marked sent: later requests get only their own errors.
        expect(JSON.parse(connection?.refusal ?? 'null')).toMatchObject({ frame: frames[0], sent: true });
        expect(connection?.connectionParams).toBeUndefined();
      }
      assertNoPrototypePollution();
    }),
    fcParams(100),
  );
});
