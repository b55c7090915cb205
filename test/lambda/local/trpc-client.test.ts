import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { initSubscriptions, memory } from '../../../lambda';
import { startLocalGateway, type LocalGateway, type LocalGatewayOptions } from '../../../lambda/local';

/** A small app on the real runtime (memory store), to prove the emulator serves the stock tRPC client. */
function chatApp() {
  const subscriptions = initSubscriptions();
  const t = initTRPC.context<{ userId: string }>().create({ transformer: superjson });
  const router = t.router({
    onMessage: t.procedure.input(z.object({ room: z.string() })).subscription(subscriptions.resolver<{ text: string; at: Date }>()),
    send: t.procedure.input(z.object({ room: z.string(), text: z.string() })).mutation(async ({ input }): Promise<number> => {
      const result = await publisher.routes.onMessage.publish({
        data: { text: input.text, at: new Date(0) },
        filter: { name: 'byRoom', input: { room: input.room } },
      });
      return result.delivered;
    }),
    whoami: t.procedure.query(({ ctx }) => ctx.userId),
  });
  const app = subscriptions
    .router({ router, createContext: ({ connectionParams }) => ({ userId: connectionParams?.userId ?? 'anon' }) })
    .store({ store: memory() })
    .routes.onMessage.filter({ name: 'byRoom', input: { room: true } });
  const publisher = app.publisher();
  return { router, handlers: { connect: app.connect(), handler: app.handler(), disconnect: app.disconnect() } };
}

type ChatRouter = ReturnType<typeof chatApp>['router'];

describe.each<[string, LocalGatewayOptions['unordered']]>([
  ['ordered', undefined],
  ['unordered', { maxDelayMs: 15 }],
])('the stock @trpc/client through the local gateway (%s)', (_mode, unordered) => {
  let gateway: LocalGateway | undefined;
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });

  test('query, subscription and a publish from a mutation, with superjson Dates', async () => {
    const { handlers } = chatApp();
    gateway = await startLocalGateway({ handlers, unordered });
    const wsClient = createWSClient({ url: gateway.url, connectionParams: { userId: 'u1' }, WebSocket: WebSocket as never });
    const client = createTRPCClient<ChatRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
    try {
      expect(await client.whoami.query()).toBe('u1');
      const received = await new Promise<{ text: string; at: Date }>((resolve, reject) => {
        const subscription = client.onMessage.subscribe({ room: 'a' }, {
          onStarted: () => void client.send.mutate({ room: 'a', text: 'hi' }).catch(reject),
          onData: (data) => {
            subscription.unsubscribe();
            resolve(data);
          },
          onError: reject,
        });
      });
      expect(received.text).toBe('hi');
      expect(received.at).toEqual(new Date(0));
    } finally {
      await wsClient.close();
    }
  });
});
