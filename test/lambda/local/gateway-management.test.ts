import { Agent, request } from 'node:http';
import {
  ApiGatewayManagementApiClient,
  ApiGatewayManagementApiServiceException,
  DeleteConnectionCommand,
  ForbiddenException,
  GetConnectionCommand,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { connectClient, recordingHandlers, waitUntil } from './helpers';
import { LOCAL_AWS_SETTINGS, startLocalGateway, type LocalGateway, type ManagementRequest } from '../../../lambda/local';

const encoder = new TextEncoder();

function managementClient(endpoint: string): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({ endpoint, ...LOCAL_AWS_SETTINGS, maxAttempts: 1 });
}

describe('local gateway: management API through the real AWS SDK client', () => {
  let currentGateway: LocalGateway | undefined;
  let currentSdk: ApiGatewayManagementApiClient | undefined;
  afterEach(async () => {
    currentSdk?.destroy();
    await currentGateway?.close();
    currentGateway = currentSdk = undefined;
  });

  async function setup(options: { stage?: string; faults?: (request: ManagementRequest) => { status: number; errorType: string } | undefined } = {}) {
    const recorded = recordingHandlers();
    const gateway = (currentGateway = await startLocalGateway({ handlers: recorded.handlers, ...options }));
    const sdk = (currentSdk = managementClient(gateway.endpoint));
    const client = await connectClient(gateway.url);
    const connectionId = recorded.invocations[0].event.requestContext.connectionId;
    return { ...recorded, client, connectionId, gateway, sdk };
  }

  test('PostToConnection sends the data as one text frame', async () => {
    const { client, connectionId, sdk } = await setup();
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode('{"id":4,"result":{"type":"data"}}') }));
    expect(await client.next()).toBe('{"id":4,"result":{"type":"data"}}');
    client.socket.close();
  });

  test('the endpoint carries the stage', async () => {
    const { client, connectionId, gateway, sdk } = await setup({ stage: 'beta' });
    expect(gateway.endpoint).toBe(`http://127.0.0.1:${gateway.port}/beta`);
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode('hi') }));
    expect(await client.next()).toBe('hi');
    client.socket.close();
  });

  test('GetConnection returns connectedAt, identity and lastActiveAt', async () => {
    const { client, connectionId, sdk, invocations } = await setup();
    const connectedAt = invocations[0].event.requestContext.connectedAt;
    client.socket.send('activity');
    await waitUntil(() => invocations.length === 2);

    const result = await sdk.send(new GetConnectionCommand({ ConnectionId: connectionId }));

    expect(result.ConnectedAt).toEqual(new Date(connectedAt));
    expect(result.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: '' });
    expect(result.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(connectedAt);
    client.socket.close();
  });

  test('DeleteConnection closes the socket and fires $disconnect once', async () => {
    const { client, connectionId, sdk, invocations, gateway } = await setup();

    await sdk.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));

    expect((await client.closed).code).toBe(1000);
    await waitUntil(() => invocations.some((i) => i.route === 'disconnect'));
    await gateway.close();
    const disconnects = invocations.filter((i) => i.route === 'disconnect');
    expect(disconnects).toHaveLength(1);
    expect(disconnects[0].event.requestContext).toMatchObject({ connectionId, eventType: 'DISCONNECT', disconnectStatusCode: 1000 });
    expect(gateway.connections()).toEqual([]);
  });

  test('unknown or closed connections answer 410, which the SDK throws as GoneException', async () => {
    const { client, connectionId, sdk } = await setup();
    await expect(sdk.send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=', Data: encoder.encode('x') }))).rejects.toBeInstanceOf(GoneException);

    client.socket.close();
    await client.closed;
    for (const command of [
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode('x') }),
      new GetConnectionCommand({ ConnectionId: connectionId }),
      new DeleteConnectionCommand({ ConnectionId: connectionId }),
    ]) {
      const error = await sdk.send(command as PostToConnectionCommand).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GoneException);
      expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
    }
  });

  test('posting to the connection from its own $connect handler gets 410 (not connected yet)', async () => {
    let fromConnect: unknown;
    const endpointHolder: { endpoint?: string } = {};
    const gateway = (currentGateway = await startLocalGateway({
      handlers: {
        connect: async (event) => {
          const client = managementClient(endpointHolder.endpoint!);
          fromConnect = await client
            .send(new PostToConnectionCommand({ ConnectionId: event.requestContext.connectionId, Data: encoder.encode('early') }))
            .catch((e: unknown) => e);
          client.destroy();
          return { statusCode: 200 };
        },
        handler: async () => undefined,
        disconnect: async () => undefined,
      },
    }));
    endpointHolder.endpoint = gateway.endpoint;
    const client = await connectClient(gateway.url);
    expect(fromConnect).toBeInstanceOf(GoneException);
    client.socket.close();
  });

  test('data over 128 KB is refused with 413, which the SDK throws as PayloadTooLargeException', async () => {
    const { client, connectionId, sdk } = await setup();
    const error = await sdk
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array(128 * 1024 + 1).fill(97) }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeException);
    expect((error as PayloadTooLargeException).$metadata.httpStatusCode).toBe(413);

    // Exactly 128 KB is allowed.
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array(128 * 1024).fill(97) }));
    expect((await client.next()).length).toBe(128 * 1024);
    client.socket.close();
  });

  test('a wrong stage is refused with 403, which the SDK throws as ForbiddenException', async () => {
    const { client, connectionId, gateway } = await setup();
    const wrongStage = managementClient(`http://127.0.0.1:${gateway.port}/other`);
    const error = await wrongStage.send(new GetConnectionCommand({ ConnectionId: connectionId })).catch((e: unknown) => e);
    wrongStage.destroy();
    expect(error).toBeInstanceOf(ForbiddenException);
    expect((error as ForbiddenException).$metadata.httpStatusCode).toBe(403);
    client.socket.close();
  });

  test('other paths and methods are refused with 403', async () => {
    const { client, gateway } = await setup();
    const status = (method: string, path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: gateway.port, method, path }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status('GET', '/prod/other/abc')).toBe(403);
    expect(await status('PUT', '/prod/@connections/abc')).toBe(403);
    expect(await status('GET', '/prod/@connections/')).toBe(403);
    client.socket.close();
  });

  test('connection ids with + and / work through the SDK\'s URL encoding', async () => {
    const { handlers, invocations } = recordingHandlers();
    const gateway = (currentGateway = await startLocalGateway({ handlers }));
    const sdk = (currentSdk = managementClient(gateway.endpoint));
    // About 38% of ids contain '+' or '/': 30 tries make missing one vanishingly unlikely.
    for (let attempt = 0; attempt < 30; attempt++) {
      const client = await connectClient(gateway.url);
      const connectionId = invocations.filter((i) => i.route === 'connect').pop()!.event.requestContext.connectionId;
      if (/[+/]/.test(connectionId)) {
        await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode('encoded') }));
        expect(await client.next()).toBe('encoded');
        client.socket.close();
        return;
      }
      client.socket.close();
    }
    throw new Error('no connection id with + or / in 30 tries');
  });

  test('fault injection answers chosen requests with the given status and error type', async () => {
    const seen: ManagementRequest[] = [];
    let failures = 1;
    const { client, connectionId, sdk } = await setup({
      faults: (req) => {
        seen.push(req);
        if (req.method === 'POST' && failures-- > 0) return { status: 429, errorType: 'LimitExceededException' };
        if (req.method === 'GET') return { status: 500, errorType: 'InternalServerErrorException' };
        return undefined;
      },
    });
    const post = new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode('after retry') });

    await expect(sdk.send(post)).rejects.toBeInstanceOf(LimitExceededException);
    await sdk.send(post);
    expect(await client.next()).toBe('after retry');
    const error = await sdk.send(new GetConnectionCommand({ ConnectionId: connectionId })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiGatewayManagementApiServiceException);
    expect((error as ApiGatewayManagementApiServiceException).name).toBe('InternalServerErrorException');
    expect((error as ApiGatewayManagementApiServiceException).$metadata.httpStatusCode).toBe(500);
    expect(seen).toEqual([
      { method: 'POST', connectionId },
      { method: 'POST', connectionId },
      { method: 'GET', connectionId },
    ]);
    client.socket.close();
  });
});

test('an idle keep-alive socket of the management API outlives Node\'s 5 s default, so a client reusing it is not reset', async () => {
  const recorded = recordingHandlers();
  const gateway = await startLocalGateway({ handlers: recorded.handlers });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const get = () => new Promise<number>((resolve, reject) => {
      request(`${gateway.endpoint}/@connections/nobody`, { agent }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      }).on('error', reject).end();
    });
    expect(await get()).toBe(410);
    const [socket] = Object.values(agent.freeSockets).flat();
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    expect(socket?.destroyed).toBe(false);
    expect(await get()).toBe(410);
  } finally {
    agent.destroy();
    await gateway.close();
  }
}, 15_000);
