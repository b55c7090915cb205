import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { WebSocket } from 'ws';
import { initSubscriptions, memory, type Logger } from '../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../lambda/local';

const quiet: Logger = { error: () => undefined, warn: () => undefined };

/** The README's pattern: subscription routes in their own router, merged into the app router. */
function chatApp() {
  const subscriptions = initSubscriptions();
  const t = initTRPC.context<{ userId: string; connectionId: string }>().create();
  const subscriptionRouter = t.router({
    onMessage: t.procedure
      .input((raw) => raw as { room: string })
      .subscription(subscriptions.resolver<{ text: string; from: string }>()),
  });
  const appSubscriptions = subscriptions
    .router({
      router: subscriptionRouter,
      createContext: ({ connectionParams, connectionId }) => ({ userId: connectionParams?.userId ?? 'anon', connectionId }),
    })
    .routes.onMessage.filter({ name: 'byRoom', input: { room: true } });
  const publisher = appSubscriptions.publisher();
  const appRouter = t.mergeRouters(subscriptionRouter, t.router({
    whoami: t.procedure.query(({ ctx }) => ctx.userId),
    send: t.procedure
      .input((raw) => raw as { room: string; text: string })
      .mutation(async ({ ctx, input }) => publisher.routes.onMessage.publish({
        data: { text: input.text, from: ctx.userId },
        filter: { name: 'byRoom', input: { room: input.room } },
        excludeConnectionId: ctx.connectionId,
      })),
  }));
  return { appSubscriptions, appRouter, subscriptionRouter, t };
}

describe('serve(appRouter): subscription routes in their own router', () => {
  let gateway: LocalGateway;
  const closers: Array<() => void> = [];

  afterEach(async () => {
    closers.splice(0).forEach((close) => close());
    await gateway?.close();
  });

  test('GIVEN the app router served WHEN a mutation publishes to a room THEN the other subscriber of the room gets it, with queries served too', async () => {
    const { appSubscriptions, appRouter } = chatApp();
    const store = memory();
    const app = appSubscriptions.store({ store }).serve(appRouter);
    gateway = await startLocalGateway({
      handlers: { connect: app.connect({ logger: quiet }), handler: app.handler({ logger: quiet }), disconnect: app.disconnect({ logger: quiet }) },
      logger: silentLogger,
    });
    const client = (userId: string) => {
      const wsClient = createWSClient({
        url: gateway.url,
        WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
        connectionParams: { userId },
      });
      closers.push(() => void wsClient.close());
      return createTRPCClient<typeof appRouter>({ links: [wsLink({ client: wsClient })] });
    };
    const alice = client('alice');
    const bob = client('bob');
    const received: string[] = [];
    const started = new Promise<void>((resolve) => {
      const sub = bob.onMessage.subscribe({ room: 'lobby' }, { onStarted: () => resolve(), onData: (m) => received.push(`${m.from}: ${m.text}`) });
      closers.push(() => sub.unsubscribe());
    });
    await started;

    expect(await alice.whoami.query()).toBe('alice');
    const result = await alice.send.mutate({ room: 'lobby', text: 'hi' });

    expect(result).toMatchObject({ matched: 1, delivered: 1 });
    const deadline = Date.now() + 5000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toEqual(['alice: hi']);
  });

  test('GIVEN a router without a filtered subscription route WHEN served THEN it names the route', () => {
    const { appSubscriptions, t } = chatApp();
    const other = t.router({ ping: t.procedure.query(() => 'pong') });

    expect(() => appSubscriptions.serve(other)).toThrow('serve(): the router has no subscription procedure at "onMessage", which has filters');
  });

  test('GIVEN something that is not a tRPC router WHEN served THEN it says so', () => {
    const { appSubscriptions } = chatApp();

    expect(() => appSubscriptions.serve({} as never)).toThrow('serve(): `router` must be a tRPC router (t.router({...}))');
  });
});
