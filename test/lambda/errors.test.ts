import superjson from 'superjson';
import { memory } from '../../lambda';
import { connectEvent, messageEvent } from './support/events';
import { recordingLogger } from './support/harness';

/** Error frames in production: the router's errorFormatter applies, `onError` sees every error, no stacks. */
type App = typeof import('./support/production-app');
let app: App;
const previousEnv = process.env.NODE_ENV;

beforeAll(async () => {
  process.env.NODE_ENV = 'production';
  app = await import('./support/production-app');
});
afterAll(() => {
  process.env.NODE_ENV = previousEnv;
});

async function call(request: unknown) {
  const store = memory();
  const logger = recordingLogger();
  await app.errorSubscriptions.connect({ store, logger })(connectEvent('c1'));
  const result = await app.errorSubscriptions.handler({ store, logger, endpoint: 'http://127.0.0.1:1/unused' })(messageEvent('c1', request));
  const frame = JSON.parse(result.body!);
  return { frame, error: superjson.deserialize<any>(frame.error), logger };
}

test('an unexpected error: INTERNAL_SERVER_ERROR, formatted, no stack, reported to onError and the logger', async () => {
  const { frame, error, logger } = await call({ id: 1, method: 'query', params: { path: 'boom', input: superjson.serialize(undefined) } });
  expect(frame.id).toBe(1);
  expect(error).toMatchObject({ code: -32603, data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500, path: 'boom', formatted: true } });
  expect(error.data.stack).toBeUndefined();
  expect(JSON.stringify(frame)).not.toMatch(/at .*\.ts:\d+/);
  expect(app.errors.at(-1)).toMatchObject({ type: 'query', path: 'boom' });
  expect(logger.entries).toEqual([expect.objectContaining({ level: 'error' })]);
});

test('a TRPCError keeps its code and message', async () => {
  const { error } = await call({ id: 'x', method: 'query', params: { path: 'forbidden', input: superjson.serialize(undefined) } });
  expect(error).toMatchObject({ message: 'not yours', code: -32003, data: { code: 'FORBIDDEN', httpStatus: 403, formatted: true } });
  expect(error.data.stack).toBeUndefined();
});

test('a subscription not made with subscriptions.resolver() gets a clean error naming the path', async () => {
  const { error } = await call({ id: 2, method: 'subscription', params: { path: 'native', input: superjson.serialize(undefined) } });
  expect(error).toMatchObject({ data: { code: 'METHOD_NOT_SUPPORTED', path: 'native' } });
  expect(error.message).toMatch(/Subscription "native" .* subscriptions\.resolver\(\)/);
});

test('a request without id gets PARSE_ERROR', async () => {
  const { frame, error } = await call({ id: null, method: 'query', params: { path: 'boom', input: superjson.serialize(undefined) } });
  expect(frame.id).toBeNull();
  expect(error.data.code).toBe('PARSE_ERROR');
});

test('a query on a subscription path is NOT_FOUND', async () => {
  const { error } = await call({ id: 3, method: 'query', params: { path: 'ok', input: superjson.serialize(undefined) } });
  expect(error.data.code).toBe('NOT_FOUND');
});
