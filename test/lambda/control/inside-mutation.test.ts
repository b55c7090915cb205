/**
 * Server-side control from inside a mutation: the publisher reuses the `$default` invocation's
 * store and Management API, with no configuration (real client, local gateway, DynamoDB Local).
 */
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import { initTRPC, TRPCError } from '@trpc/server';
import { WebSocket } from 'ws';
import * as z from 'zod/mini';
import { dynamodb, initSubscriptions } from '../../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../../lambda/local';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { waitFor } from '../support/harness';

const subscriptions = initSubscriptions();
const t = initTRPC.context<{ userId: string }>().create();
const router = t.router({
  onRoom: t.procedure.input(z.object({ room: z.string() })).subscription(subscriptions.resolver<string>()),
  /** An admin's actions: close a room (fail its subscriptions), kick a user (disconnect). */
  closeRoom: t.procedure.input(z.object({ room: z.string() })).mutation(async ({ input }): Promise<number> => {
    const result = await publisher.routes.onRoom.stop({
      filter: { name: 'byRoom', input: { room: input.room } },
      error: new TRPCError({ code: 'FORBIDDEN', message: `Room ${input.room} was closed` }),
    });
    return result.stopped;
  }),
  kick: t.procedure.input(z.object({ userId: z.string() })).mutation(async ({ input }): Promise<number> => {
    const result = await publisher.connections.disconnect({ key: `user:${input.userId}` });
    return result.succeeded;
  }),
});
const app = subscriptions
  .router({
    router,
    createContext: ({ connectionParams }) => ({ userId: connectionParams?.userId ?? 'anon' }),
    connectionKey: (ctx) => `user:${ctx.userId}`,
  })
  .routes.onRoom.filter({ name: 'byRoom', input: { room: true } });
const publisher = app.publisher();

let table: TestTable;
let gateway: LocalGateway;
const closers: Array<() => void> = [];

beforeAll(async () => {
  table = await createTestTable('control-mutation');
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  gateway = await startLocalGateway({
    handlers: { connect: app.connect({ store }), handler: app.handler({ store }), disconnect: app.disconnect({ store }) },
    logger: silentLogger,
  });
});
afterAll(async () => {
  closers.forEach((close) => close());
  await gateway.close();
  table.client.destroy();
});

function client(userId: string) {
  const wsClient = createWSClient({ url: gateway.url, WebSocket: WebSocket as never, connectionParams: { userId }, retryDelayMs: () => 50 });
  closers.push(() => void wsClient.close());
  return { trpc: createTRPCClient<typeof router>({ links: [wsLink({ client: wsClient })] }), wsClient };
}

test('a mutation fails a room\'s subscriptions and kicks a user, with no publisher configuration', async () => {
  const admin = client('admin');
  const member = client('m1');
  const errors: string[] = [];
  let started = 0;
  member.trpc.onRoom.subscribe({ room: 'r1' }, { onStarted: () => started++, onError: (error) => errors.push(`${error.data?.code}: ${error.message}`) });
  await waitFor(() => started === 1, 5000, 'started');

  await expect(admin.trpc.closeRoom.mutate({ room: 'r1' })).resolves.toBe(1);
  await waitFor(() => errors.length === 1, 5000, 'onError');
  expect(errors).toEqual(['FORBIDDEN: Room r1 was closed']);

  const before = gateway.connections().length;
  await expect(admin.trpc.kick.mutate({ userId: 'm1' })).resolves.toBe(1);
  // The member's socket was closed by the server (the client then reconnects on its own).
  await waitFor(() => gateway.connections().length <= before, 5000, 'kicked');
  void member.wsClient.close();
  await expect(admin.trpc.kick.mutate({ userId: 'nobody' })).resolves.toBe(0);
});
