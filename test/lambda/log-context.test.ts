import { initTRPC } from '@trpc/server';
import { initSubscriptions, memory } from '../../lambda';
import { connectEvent, messageEvent } from './support/events';
import { recordingLogger } from './support/harness';
import { runWithLogContext, withLogContext } from '../../lambda/util/log-context';

describe('structured log lines', () => {
  test('GIVEN a server error in $default WHEN logged THEN the line carries the connection id, route and both request ids, and no input', async () => {
    const t = initTRPC.create();
    const router = t.router({
      fail: t.procedure.query(() => {
        throw new Error('boom');
      }),
    });
    const app = initSubscriptions().router({ router });
    const store = memory();
    const logger = recordingLogger();
    await app.connect({ store, logger })(connectEvent('c1'));
    const event = messageEvent('c1', { id: 7, method: 'query', params: { path: 'fail', input: { secret: 'payload-data' } } });
    const withRequestId = { ...event, requestContext: { ...event.requestContext, requestId: 'apigw-1' } };

    await app.handler({ store, logger })(withRequestId, { awsRequestId: 'lambda-1' });

    const [entry] = logger.entries.filter((e) => e.level === 'error');
    expect(entry.message).toContain('tRPC query fail failed: boom');
    expect(entry.details).toMatchObject({ connectionId: 'c1', route: '$default', requestId: 'apigw-1', awsRequestId: 'lambda-1' });
    expect(JSON.stringify(logger.entries)).not.toContain('payload-data');
  });

  test('GIVEN details that name a field of the context WHEN logged THEN the call site wins', () => {
    const logger = recordingLogger();

    runWithLogContext({ connectionId: 'c1', route: '$default' }, () => withLogContext(logger).warn('w', { connectionId: 'c2' }));

    expect(logger.entries).toEqual([{ level: 'warn', message: 'w', details: { connectionId: 'c2', route: '$default' } }]);
  });

  test('GIVEN no invocation WHEN logged THEN the details are unchanged', () => {
    const logger = recordingLogger();

    withLogContext(logger).error('e', { a: 1 });

    expect(logger.entries).toEqual([{ level: 'error', message: 'e', details: { a: 1 } }]);
  });
});
