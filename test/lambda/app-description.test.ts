import superjson from 'superjson';
import { connectClient, recordingLogger, waitFor } from './support/harness';
import { memory } from '../../lambda';
import { appDescriptionOf, APP_DESCRIPTION } from '../../lambda/core/app-description';
import { silentLogger, startLocalGateway } from '../../lambda/local';
import { historySubscriptions } from '../fixtures/history-router';
import { appSubscriptions, type ChatMessage } from '../fixtures/router';

describe('the $default handler describes its app to local tools', () => {
  test('routes with their filters in declared order, the history flag, and a transformer reader', () => {
    const description = appDescriptionOf(appSubscriptions.handler());
    expect(description?.routes).toEqual([
      { path: 'onMessage', filters: [{ name: 'byRoom', ctx: [], input: ['room'] }, { name: 'byUserAndRoom', ctx: ['userId'], input: ['room'] }], history: false },
      { path: 'chat.onTyping', filters: [{ name: 'byUser', ctx: ['userId'], input: [] }], history: false },
      expect.objectContaining({ path: 'onNotification', history: false }),
    ]);
    expect(appDescriptionOf(historySubscriptions().handler())?.routes).toEqual([
      { path: 'onEvent', filters: [{ name: 'byRoom', ctx: [], input: ['room'] }], history: true },
    ]);
    const at = new Date('2026-01-01T00:00:00.000Z');
    expect(description?.deserialize(superjson.serialize({ at }), 'output')).toEqual({ at });
  });

  test('it is hidden from enumeration, and nothing else carries one', () => {
    const handler = appSubscriptions.handler();
    expect(Object.keys(handler)).toEqual([]);
    expect(Object.getOwnPropertySymbols(handler)).toEqual([APP_DESCRIPTION]);
    expect(appDescriptionOf(appSubscriptions.connect())).toBeUndefined();
    expect(appDescriptionOf(async () => ({ statusCode: 200 }))).toBeUndefined();
    expect(appDescriptionOf(undefined)).toBeUndefined();
    expect(appDescriptionOf(Object.assign(() => undefined, { [APP_DESCRIPTION]: { version: 2 } }))).toBeUndefined();
  });

  test('its publisher uses the handler\'s store and endpoint: a publish reaches a subscriber of that handler', async () => {
    const store = memory();
    const logger = recordingLogger();
    let handler: ReturnType<typeof appSubscriptions.handler> | undefined;
    const gateway = await startLocalGateway({
      handlers: {
        connect: appSubscriptions.connect({ store }),
        handler: (event, context) => handler!(event, context),
        disconnect: appSubscriptions.disconnect({ store }),
      },
      logger: silentLogger,
    });
    handler = appSubscriptions.handler({ store, endpoint: gateway.endpoint, logger });
    const { client, close } = connectClient(gateway.url, { userId: 'alice' });
    try {
      const received: ChatMessage[] = [];
      await new Promise<void>((resolve) => client.onMessage.subscribe({ room: 'lobby' }, { onStarted: () => resolve(), onData: (data) => received.push(data) }));
      const description = appDescriptionOf(handler)!;
      expect(description.store()).toBe(store);
      expect(description.publisher()).toBe(description.publisher());
      const routes = description.publisher().routes as { onMessage: { publish(args: unknown): Promise<{ delivered: number }> } };
      const result = await routes.onMessage.publish({ data: { text: 'hi', at: new Date(0), from: 'console' }, filter: { name: 'byRoom', input: { room: 'lobby' } } });
      expect(result.delivered).toBe(1);
      await waitFor(() => received.length === 1);
      expect(received[0]).toEqual({ text: 'hi', at: new Date(0), from: 'console' });
    } finally {
      close();
      await gateway.close();
    }
  });
});
