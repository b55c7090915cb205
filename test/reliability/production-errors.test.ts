import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { memory } from '../../lambda';
import { quietLogger } from './support/env';
import { parseServerFrame } from './support/frames';
import { connectEvent, messageEvent } from '../lambda/support/events';

/**
 * Production error frames carry no stack and no internal message: tRPC's getTRPCErrorShape
 * copies an unexpected error's own message into the frame (its adapters do too), so the runtime
 * masks INTERNAL_SERVER_ERRORs whose message came from what was thrown, unless told otherwise.
 */
type Lambda = typeof import('../../lambda');
let lambda: Lambda;
const previousEnv = process.env.NODE_ENV;

beforeAll(async () => {
  process.env.NODE_ENV = 'production';
  lambda = await import('../../lambda');
});
afterAll(() => {
  process.env.NODE_ENV = previousEnv;
});

/** A router created in production mode (tRPC reads NODE_ENV when the router is created). */
function productionApp(options: { exposeInternalErrors?: boolean; formatterSeesCause?: boolean } = {}) {
  const subscriptions = lambda.initSubscriptions();
  const t = initTRPC.context<{ userId: string }>().create({
    transformer: superjson,
    errorFormatter: ({ shape, error }) => options.formatterSeesCause
      ? { ...shape, data: { ...shape.data, cause: error.cause instanceof Error ? error.cause.message : undefined } }
      : shape,
  });
  const router = t.router({
    boom: t.procedure.query((): string => {
      throw new Error('connect ECONNREFUSED 10.0.3.7:5432 (table secret_users)');
    }),
    thrownString: t.procedure.query((): string => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw 'password=hunter2';
    }),
    deliberate: t.procedure.query((): string => {
      throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Try again in a minute' });
    }),
    forbidden: t.procedure.query((): string => {
      throw new TRPCError({ code: 'FORBIDDEN', message: 'Not your room' });
    }),
    onMessage: t.procedure.subscription(subscriptions.resolver<string>()),
  });
  return subscriptions.router({
    router,
    createContext: ({ connect }) => {
      if (connect.queryStringParameters?.fail === 'plain') throw new Error('JWKS fetch failed: https://internal.example/keys');
      return { userId: 'u1' };
    },
    exposeInternalErrors: options.exposeInternalErrors,
  });
}

async function query(app: ReturnType<typeof productionApp>, path: string) {
  const store = memory();
  const logger = quietLogger();
  await app.connect({ store, logger })(connectEvent('c1'));
  const result = await app.handler({ store, logger, endpoint: 'http://127.0.0.1:1/unused' })(
    messageEvent('c1', { id: 1, method: 'query', params: { path, input: superjson.serialize(undefined) } }),
  );
  return { frame: result.body!, logger };
}

test('an unexpected Error: INTERNAL_SERVER_ERROR with a generic message, no stack; the logger keeps the original', async () => {
  const { frame, logger } = await query(productionApp(), 'boom');
  expect(parseServerFrame(frame)).toMatchObject({ kind: 'error', id: 1, dataCode: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' });
  expect(frame).not.toMatch(/ECONNREFUSED|secret_users|\.ts:\d+/);
  expect(JSON.stringify(logger.entries)).toMatch(/ECONNREFUSED/);
});

test('a thrown non-Error value is masked too', async () => {
  const { frame } = await query(productionApp(), 'thrownString');
  expect(parseServerFrame(frame)).toMatchObject({ kind: 'error', message: 'Internal server error' });
  expect(frame).not.toMatch(/hunter2/);
});

test('a TRPCError thrown on purpose keeps its message, INTERNAL_SERVER_ERROR included', async () => {
  expect(parseServerFrame((await query(productionApp(), 'deliberate')).frame)).toMatchObject({ message: 'Try again in a minute' });
  expect(parseServerFrame((await query(productionApp(), 'forbidden')).frame)).toMatchObject({ dataCode: 'FORBIDDEN', message: 'Not your room' });
});

test('exposeInternalErrors: true sends the message (still no stack in production)', async () => {
  const { frame } = await query(productionApp({ exposeInternalErrors: true }), 'boom');
  expect(parseServerFrame(frame)).toMatchObject({ message: expect.stringContaining('ECONNREFUSED') });
});

test('the errorFormatter still sees the original error as error.cause', async () => {
  const { frame } = await query(productionApp({ formatterSeesCause: true }), 'boom');
  expect(parseServerFrame(frame)).toMatchObject({ message: 'Internal server error', data: { cause: expect.stringContaining('ECONNREFUSED') } });
});

test('$connect with refuseWith: http-status: a createContext that throws a plain Error refuses with 500 and a generic body', async () => {
  const app = productionApp();
  const result = await app.connect({ store: memory(), logger: quietLogger(), refuseWith: 'http-status' })(connectEvent('c1', { fail: 'plain' }));
  expect(result).toEqual({ statusCode: 500, body: 'Internal server error' });
});

test('$connect: a createContext that throws a plain Error stores a generic refusal, no stack, no internal message', async () => {
  const app = productionApp();
  const store = memory();
  expect(await app.connect({ store, logger: quietLogger() })(connectEvent('c1', { fail: 'plain' }))).toEqual({ statusCode: 200 });
  const connection = await store.getConnection('c1');
  expect(connection?.connect).toEqual({});
  const refusal = JSON.parse(connection?.refusal ?? 'null');
  expect(parseServerFrame(refusal.frame)).toMatchObject({ id: null, message: 'Internal server error' });
  expect(refusal).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', sent: false });
  expect(connection?.refusal).not.toContain('stack');
});
