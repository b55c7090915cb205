import { ApiGatewayManagementApiClient, DeleteConnectionCommand, GoneException } from '@aws-sdk/client-apigatewaymanagementapi';
import { capturingLogger, connectClient, recordingHandlers, sleep, waitUntil, type Invocation } from './helpers';
import { LOCAL_AWS_SETTINGS, startLocalGateway, type LocalGateway } from '../../../lambda/local';

const KB = 1024;

function disconnectsOf(invocations: Invocation[]) {
  return invocations.filter((i) => i.route === 'disconnect').map((i) => i.event.requestContext);
}

describe('local gateway: limits, timeouts and $disconnect', () => {
  let gateway: LocalGateway | undefined;
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });

  describe('API Gateway quotas', () => {
    test('a single frame over 32 KB closes the connection with 1009', async () => {
      const { handlers, invocations } = recordingHandlers();
      gateway = await startLocalGateway({ handlers, logger: capturingLogger() });
      const client = await connectClient(gateway.url);

      client.socket.send('a'.repeat(32 * KB + 1));

      expect((await client.closed).code).toBe(1009);
      await waitUntil(() => disconnectsOf(invocations).length === 1);
      expect(disconnectsOf(invocations)[0].disconnectStatusCode).toBe(1009);
      expect(invocations.filter((i) => i.route === 'handler')).toEqual([]);
    });

    test('a 32 KB frame passes', async () => {
      const { handlers, invocations } = recordingHandlers();
      gateway = await startLocalGateway({ handlers });
      const client = await connectClient(gateway.url);
      client.socket.send('b'.repeat(32 * KB));
      await waitUntil(() => invocations.some((i) => i.route === 'handler'));
      expect(invocations.find((i) => i.route === 'handler')!.event.body).toHaveLength(32 * KB);
      client.socket.close();
    });

    test('a 128 KB message in 32 KB fragments passes as one body', async () => {
      const { handlers, invocations } = recordingHandlers();
      gateway = await startLocalGateway({ handlers });
      const client = await connectClient(gateway.url);
      for (let part = 0; part < 4; part++) client.socket.send(String(part).repeat(32 * KB), { fin: part === 3 });

      await waitUntil(() => invocations.some((i) => i.route === 'handler'));
      const body = invocations.find((i) => i.route === 'handler')!.event.body!;
      expect(body).toHaveLength(128 * KB);
      expect(body.startsWith('0') && body.endsWith('3')).toBe(true);
      client.socket.close();
    });

    test('a message over 128 KB (in small fragments) closes the connection with 1009', async () => {
      const { handlers, invocations } = recordingHandlers();
      gateway = await startLocalGateway({ handlers, logger: capturingLogger() });
      const client = await connectClient(gateway.url);
      for (let part = 0; part < 5; part++) client.socket.send('c'.repeat(30 * KB), { fin: part === 4 });

      expect((await client.closed).code).toBe(1009);
      await waitUntil(() => disconnectsOf(invocations).length === 1);
      expect(invocations.filter((i) => i.route === 'handler')).toEqual([]);
    });
  });

  describe('timeouts', () => {
    test('an idle connection is closed with 1001 Going away; messages keep it alive', async () => {
      const { handlers, invocations } = recordingHandlers();
      gateway = await startLocalGateway({ handlers, idleTimeoutMs: 300 });
      const client = await connectClient(gateway.url);
      const openedAt = Date.now();

      // Activity every 100 ms for 600 ms: twice the idle timeout without closing.
      for (let i = 0; i < 6; i++) {
        client.socket.send(`keep-alive ${i}`);
        await sleep(100);
      }
      expect(client.socket.readyState).toBe(client.socket.OPEN);

      const closed = await client.closed;
      expect(closed).toEqual({ code: 1001, reason: 'Going away' });
      expect(Date.now() - openedAt).toBeGreaterThanOrEqual(600);
      await waitUntil(() => disconnectsOf(invocations).length === 1);
      expect(disconnectsOf(invocations)[0]).toMatchObject({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
    });

    test('a connection is closed after the maximum duration even when active', async () => {
      const { handlers, invocations } = recordingHandlers();
      gateway = await startLocalGateway({ handlers, maxConnectionMs: 400 });
      const client = await connectClient(gateway.url);
      const openedAt = Date.now();
      const keepAlive = setInterval(() => client.socket.readyState === client.socket.OPEN && client.socket.send('ping'), 50);

      const closed = await client.closed;
      clearInterval(keepAlive);

      expect(closed).toEqual({ code: 1001, reason: 'Going away' });
      expect(Date.now() - openedAt).toBeGreaterThanOrEqual(380);
      await waitUntil(() => disconnectsOf(invocations).length === 1);
      expect(disconnectsOf(invocations)[0].disconnectStatusCode).toBe(1001);
    });
  });

  test('$disconnect fires exactly once per connection, whatever closed it', async () => {
    const { handlers, invocations } = recordingHandlers();
    gateway = await startLocalGateway({ handlers, idleTimeoutMs: 400, maxConnectionMs: 60_000, logger: capturingLogger() });
    const sdk = new ApiGatewayManagementApiClient({ endpoint: gateway.endpoint, ...LOCAL_AWS_SETTINGS, maxAttempts: 1 });
    const deleteConnection = (connectionId: string) => sdk.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));

    const clients = await Promise.all(Array.from({ length: 7 }, () => connectClient(gateway!.url)));
    const ids = invocations.filter((i) => i.route === 'connect').map((i) => i.event.requestContext.connectionId);
    const [withCode, withoutCode, dropped, deleted, tooBig, idle, atShutdown] = clients;
    const idOf = (client: (typeof clients)[number]) => ids[clients.indexOf(client)];
    // Keep all but the idle one active so that only it times out.
    const keepAlive = setInterval(() => {
      for (const client of [atShutdown, deleted]) if (client.socket.readyState === client.socket.OPEN) client.socket.send('.');
    }, 100);

    withCode.socket.close(4000, 'bye');
    withoutCode.socket.close();
    dropped.socket.terminate();
    await deleteConnection(idOf(deleted));
    tooBig.socket.send('x'.repeat(33 * KB));
    await idle.closed;
    // Closing again, or deleting a closed connection, must not fire a second $disconnect.
    await expect(deleteConnection(idOf(deleted))).rejects.toBeInstanceOf(GoneException);
    withCode.socket.close();
    clearInterval(keepAlive);
    await gateway.close();
    sdk.destroy();

    const byId = new Map(disconnectsOf(invocations).map((rc) => [rc.connectionId, rc]));
    expect(disconnectsOf(invocations)).toHaveLength(7);
    expect(byId.size).toBe(7);
    expect(byId.get(idOf(withCode))).toMatchObject({ disconnectStatusCode: 4000, disconnectReason: 'bye' });
    expect(byId.get(idOf(withoutCode))).toMatchObject({ disconnectStatusCode: 1005, disconnectReason: 'Client-side close frame status not set' });
    expect(byId.get(idOf(dropped))?.disconnectStatusCode).toBe(1006);
    expect(byId.get(idOf(deleted))?.disconnectStatusCode).toBe(1000);
    expect(byId.get(idOf(tooBig))?.disconnectStatusCode).toBe(1009);
    expect(byId.get(idOf(idle))).toMatchObject({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
    expect(byId.get(idOf(atShutdown))).toMatchObject({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
    expect(await atShutdown.closed).toEqual({ code: 1001, reason: 'Going away' });
    for (const rc of byId.values()) expect(rc).toMatchObject({ routeKey: '$disconnect', eventType: 'DISCONNECT' });
  });

  describe('close()', () => {
    test('waits for running invocations, fires $disconnect and frees the port', async () => {
      const finished: string[] = [];
      const { handlers } = recordingHandlers({
        handler: async (event) => {
          await sleep(300);
          finished.push(`handler:${event.body}`);
        },
        disconnect: async () => {
          await sleep(100);
          finished.push('disconnect');
        },
      });
      gateway = await startLocalGateway({ handlers });
      const client = await connectClient(gateway.url);
      client.socket.send('slow');
      await sleep(50);

      await gateway.close();

      expect(finished).toEqual(['handler:slow', 'disconnect']);
      expect(gateway.connections()).toEqual([]);
      await expect(connectClient(gateway.url)).rejects.toThrow(/ECONNREFUSED/);
    });

    test('is idempotent and works with no connections', async () => {
      gateway = await startLocalGateway({ handlers: recordingHandlers().handlers });
      await Promise.all([gateway.close(), gateway.close()]);
      await expect(gateway.close()).resolves.toBeUndefined();
    });

    test('cuts clients that do not answer the closing handshake', async () => {
      const { handlers, invocations } = recordingHandlers();
      gateway = await startLocalGateway({ handlers });
      const client = await connectClient(gateway.url);
      // A client whose socket stops reading never answers the close frame.
      (client.socket as unknown as { _socket: { pause(): void } })._socket.pause();

      const started = Date.now();
      await gateway.close();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(disconnectsOf(invocations)).toHaveLength(1);
    });
  });
});
