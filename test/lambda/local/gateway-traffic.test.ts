import { get } from 'node:http';
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { capturingLogger, connectClient, recordingHandlers, waitUntil } from './helpers';
import {
  LOCAL_AWS_SETTINGS,
  silentLogger,
  startLocalGateway,
  startLocalQueue,
  type GatewayTraffic,
  type LocalGateway,
  type LocalQueueEvent,
  type ManagementFault,
} from '../../../lambda/local';

const encoder = new TextEncoder();

/** What the gateway's `onTraffic` saw, without the clock. */
type Seen = GatewayTraffic extends infer T ? T extends GatewayTraffic ? Omit<T, 'at'> : never : never;

describe('local gateway: onTraffic and onHttpRequest', () => {
  let gateway: LocalGateway | undefined;
  let sdk: ApiGatewayManagementApiClient | undefined;
  afterEach(async () => {
    sdk?.destroy();
    await gateway?.close();
    gateway = sdk = undefined;
  });

  async function setup(fault?: (method: string) => ManagementFault | undefined, maxAttempts = 1) {
    const seen: Seen[] = [];
    const times: number[] = [];
    const recorded = recordingHandlers();
    gateway = await startLocalGateway({
      handlers: recorded.handlers,
      logger: silentLogger,
      faults: ({ method }) => fault?.(method),
      onTraffic: ({ at, ...traffic }) => {
        times.push(at);
        seen.push(traffic as Seen);
      },
    });
    sdk = new ApiGatewayManagementApiClient({ endpoint: gateway.endpoint, ...LOCAL_AWS_SETTINGS, maxAttempts, retryMode: 'standard' });
    const client = await connectClient(gateway.url);
    const connectionId = recorded.invocations[0].event.requestContext.connectionId;
    return { seen, times, client, connectionId, gateway, sdk };
  }

  test('connections, client frames, the end of each $default invocation and every @connections request are reported in order', async () => {
    const { seen, times, client, connectionId, sdk: management } = await setup();
    client.socket.send('{"id":1,"method":"subscription","params":{"path":"onMessage"}}');
    await waitUntil(() => seen.some((traffic) => traffic.type === 'handled'));
    await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode('{"id":1,"result":{"type":"data","data":1}}') }));
    await client.next();
    await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    await waitUntil(() => seen.some((traffic) => traffic.type === 'disconnected'));
    await waitUntil(() => seen.filter((traffic) => traffic.type === 'management').length === 2);

    const post = seen.find((traffic) => traffic.type === 'management' && traffic.method === 'POST');
    expect(post).toEqual({
      type: 'management',
      method: 'POST',
      connectionId,
      body: '{"id":1,"result":{"type":"data","data":1}}',
      status: 200,
      invocationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      attempt: 1,
    });
    const summary = seen.map((traffic) => (traffic.type === 'management' ? `${traffic.method} ${traffic.status}` : traffic.type));
    expect(summary.slice(0, 4)).toEqual(['connected', 'message', 'handled', 'POST 200']);
    // The DELETE's answer and the close it causes race each other.
    expect(summary.slice(4).sort()).toEqual(['DELETE 204', 'disconnected']);
    expect(seen[0]).toEqual({ type: 'connected', connectionId, connectedAt: expect.any(Number), sourceIp: '127.0.0.1', userAgent: undefined });
    expect(seen[1]).toEqual({ type: 'message', connectionId, body: '{"id":1,"method":"subscription","params":{"path":"onMessage"}}', isBase64Encoded: false });
    expect(seen.find((traffic) => traffic.type === 'disconnected')).toEqual({ type: 'disconnected', connectionId, code: 1000, reason: '' });
    expect(times.every((at) => typeof at === 'number' && at > 0)).toBe(true);
  });

  test('an error answer carries its status and error type; retries of one call share the invocation id', async () => {
    let attempts = 0;
    const { seen, connectionId, sdk: management } = await setup(() => (++attempts < 3 ? { status: 429, errorType: 'LimitExceededException' } : undefined), 3);
    await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode('x') }));
    await waitUntil(() => seen.filter((traffic) => traffic.type === 'management').length === 3);
    const posts = seen.filter((traffic): traffic is Extract<Seen, { type: 'management' }> => traffic.type === 'management');
    expect(posts.map((post) => [post.status, post.errorType, post.attempt, post.body])).toEqual([
      [429, 'LimitExceededException', 1, 'x'], [429, 'LimitExceededException', 2, 'x'], [200, undefined, 3, 'x'],
    ]);
    expect(new Set(posts.map((post) => post.invocationId)).size).toBe(1);
  });

  test('a request left unanswered (network fault) is reported without a status', async () => {
    const { seen, connectionId, sdk: management } = await setup(() => ({ network: 'reset' }));
    await expect(management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode('x') }))).rejects.toThrow();
    await waitUntil(() => seen.some((traffic) => traffic.type === 'management'));
    const post = seen.find((traffic) => traffic.type === 'management');
    expect(post).toMatchObject({ method: 'POST', connectionId, body: 'x' });
    expect(post).not.toHaveProperty('status');
  });

  test('onHttpRequest takes the requests it wants, the Management API the rest; a throwing listener changes nothing', async () => {
    const logger = capturingLogger();
    gateway = await startLocalGateway({
      handlers: recordingHandlers().handlers,
      logger,
      onTraffic: () => {
        throw new Error('listener bug');
      },
      onHttpRequest: (request, response) => {
        if (request.url !== '/hello') return false;
        response.end('hi');
        return true;
      },
    });
    const fetchText = (path: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      get(`http://127.0.0.1:${gateway!.port}${path}`, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      }).on('error', reject);
    });
    expect(await fetchText('/hello')).toEqual({ status: 200, body: 'hi' });
    expect((await fetchText('/other')).status).toBe(403);
    const client = await connectClient(gateway.url);
    client.socket.send('PING');
    await waitUntil(() => logger.errors.length >= 2);
    expect(logger.errors).toContain('Local gateway: the onTraffic listener failed');
    client.socket.close();
  });
});

test('the local queue reports each message: sent, received, failed, deleted and dead-lettered', async () => {
  const events: LocalQueueEvent[] = [];
  let calls = 0;
  const queue = await startLocalQueue({
    // The first message fails once then succeeds; the second always fails.
    handler: async (event) => ({
      batchItemFailures: event.Records
        .filter((record) => record.body === 'always' || (record.body === 'once' && ++calls === 1))
        .map((record) => ({ itemIdentifier: record.messageId })),
    }),
    visibilityTimeoutMs: 20,
    maxReceiveCount: 2,
    logger: silentLogger,
    onEvent: (event) => events.push(event),
  });
  try {
    const once = queue.send('once');
    const always = queue.send('always');
    await queue.drained();
    const of = (messageId: string) => events
      .filter((event) => ('messageId' in event ? event.messageId === messageId : event.messageIds.includes(messageId)))
      .map((event) => event.type);
    expect(of(once)).toEqual(['sent', 'received', 'failed', 'received', 'deleted']);
    expect(of(always)).toEqual(['sent', 'received', 'failed', 'received', 'failed', 'dead-lettered']);
    expect(events.find((event) => event.type === 'sent')).toMatchObject({ body: 'once', at: expect.any(Number) });
  } finally {
    await queue.close();
  }
});
