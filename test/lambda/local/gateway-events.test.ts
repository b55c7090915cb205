import type { Callback, Context } from 'aws-lambda';
import { capturingLogger, connectClient, recordingHandlers, rejectedStatus, waitUntil } from './helpers';
import { startLocalGateway, type LocalGateway, type LocalWebSocketEvent } from '../../../lambda/local';

const API_GATEWAY_ID = /^[A-Za-z0-9+/]{15}=$/;

describe('local gateway: events and routes', () => {
  let gateway: LocalGateway | undefined;
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });

  test('$connect gets headers, query string and the API Gateway request context', async () => {
    const { handlers, invocations } = recordingHandlers();
    gateway = await startLocalGateway({ handlers, stage: 'dev' });
    const before = Date.now();

    const client = await connectClient(`${gateway.url}/dev?connectionParams=1&tag=a&tag=b`, undefined, {
      headers: { 'X-Custom': 'yes', 'User-Agent': 'jest-client' },
    });

    expect(invocations).toHaveLength(1);
    const { route, event, context } = invocations[0];
    expect(route).toBe('connect');
    const rc = event.requestContext;
    expect(rc).toMatchObject({
      routeKey: '$connect',
      eventType: 'CONNECT',
      messageDirection: 'IN',
      stage: 'dev',
      domainName: `127.0.0.1:${gateway.port}`,
      identity: { sourceIp: '127.0.0.1', userAgent: 'jest-client' },
    });
    expect(rc.connectionId).toMatch(API_GATEWAY_ID);
    expect(rc.requestId).toMatch(API_GATEWAY_ID);
    expect(rc.extendedRequestId).toMatch(API_GATEWAY_ID);
    expect(rc.apiId).toMatch(/^[a-z0-9]{10}$/);
    expect(rc.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(rc.connectedAt).toBeGreaterThanOrEqual(before);
    expect(rc.requestTimeEpoch).toBeGreaterThanOrEqual(rc.connectedAt);
    expect(rc).not.toHaveProperty('messageId');
    expect(rc).not.toHaveProperty('authorizer');
    expect(rc).not.toHaveProperty('disconnectStatusCode');
    expect(gateway.connections()).toEqual([rc.connectionId]);

    // Original header case, plus what API Gateway adds.
    expect(event.headers).toMatchObject({ 'X-Custom': 'yes', 'Host': `127.0.0.1:${gateway.port}`, 'X-Forwarded-For': '127.0.0.1' });
    expect(event.headers?.['Sec-WebSocket-Key']).toEqual(expect.any(String));
    expect(event.multiValueHeaders?.['X-Custom']).toEqual(['yes']);
    expect(event.queryStringParameters).toEqual({ connectionParams: '1', tag: 'b' });
    expect(event.multiValueQueryStringParameters).toEqual({ connectionParams: ['1'], tag: ['a', 'b'] });
    expect(event.isBase64Encoded).toBe(false);
    expect(event).not.toHaveProperty('body');

    expect(context.functionName).toBe('connect');
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(29_000);
    client.socket.close();
  });

  test('no query string means no query fields on $connect', async () => {
    const { handlers, invocations } = recordingHandlers();
    gateway = await startLocalGateway({ handlers });
    const client = await connectClient(gateway.url);
    expect(invocations[0].event).not.toHaveProperty('queryStringParameters');
    expect(invocations[0].event).not.toHaveProperty('multiValueQueryStringParameters');
    client.socket.close();
  });

  test('$default gets text as body and binary frames as base64, without headers', async () => {
    const { handlers, invocations } = recordingHandlers();
    gateway = await startLocalGateway({ handlers });
    const client = await connectClient(gateway.url);

    client.socket.send('{"id":1,"method":"query"}');
    client.socket.send(Buffer.from([0, 1, 2, 255]));
    await waitUntil(() => invocations.filter((i) => i.route === 'handler').length === 2);

    const [text, binary] = invocations.filter((i) => i.route === 'handler');
    const connectionId = invocations[0].event.requestContext.connectionId;
    expect(text.event.body).toBe('{"id":1,"method":"query"}');
    expect(text.event.isBase64Encoded).toBe(false);
    expect(text.event.requestContext).toMatchObject({ routeKey: '$default', eventType: 'MESSAGE', connectionId, messageDirection: 'IN' });
    expect(text.event.requestContext.messageId).toMatch(API_GATEWAY_ID);
    expect(text.event.requestContext.messageId).not.toBe(binary.event.requestContext.messageId);
    expect(text.event.requestContext.connectedAt).toBe(invocations[0].event.requestContext.connectedAt);
    expect(text.event).not.toHaveProperty('headers');
    expect(text.event).not.toHaveProperty('queryStringParameters');
    expect(text.context.functionName).toBe('handler');
    expect(binary.event.body).toBe(Buffer.from([0, 1, 2, 255]).toString('base64'));
    expect(binary.event.isBase64Encoded).toBe(true);
    client.socket.close();
  });

  test('$default is two-way: a returned body is sent as one frame, no body sends nothing', async () => {
    const { handlers } = recordingHandlers({
      handler: (event) => (event.body === 'PING' ? { statusCode: 200, body: 'PONG' } : event.body === 'quiet' ? undefined : { statusCode: 200 }),
    });
    gateway = await startLocalGateway({ handlers });
    const client = await connectClient(gateway.url);

    client.socket.send('quiet');
    client.socket.send('no body');
    client.socket.send('PING');

    expect(await client.next()).toBe('PONG');
    expect(client.received).toEqual([]);
    client.socket.close();
  });

  test('a throwing $default handler is logged and the client gets API Gateway\'s error frame', async () => {
    const logger = capturingLogger();
    const { handlers, invocations } = recordingHandlers({
      handler: () => {
        throw new Error('boom');
      },
    });
    gateway = await startLocalGateway({ handlers, logger });
    const client = await connectClient(gateway.url);

    client.socket.send('hello');
    const frame = JSON.parse(await client.next());

    const message = invocations.find((i) => i.route === 'handler')!;
    expect(frame).toEqual({
      message: 'Internal server error',
      connectionId: message.event.requestContext.connectionId,
      requestId: message.event.requestContext.requestId,
    });
    expect(logger.errors.join('\n')).toContain('$default handler failed');
    client.socket.close();
  });

  test.each([
    ['a non-2xx statusCode', () => ({ statusCode: 403 }), 403],
    ['a 401 statusCode', () => ({ statusCode: 401, body: 'no' }), 401],
    ['a throw', () => {
      throw new Error('db down');
    }, 500],
  ])('$connect returning %s rejects the upgrade with that status, and no $disconnect follows', async (_name, connect, status) => {
    const { handlers, invocations } = recordingHandlers({ connect });
    gateway = await startLocalGateway({ handlers, logger: capturingLogger() });

    expect(await rejectedStatus(gateway.url)).toBe(status);
    await gateway.close();
    expect(invocations.map((i) => i.route)).toEqual(['connect']);
    expect(gateway.connections()).toEqual([]);
  });

  test('upgrades to other paths than / and /{stage} are refused with 403', async () => {
    const { handlers, invocations } = recordingHandlers();
    gateway = await startLocalGateway({ handlers });
    expect(await rejectedStatus(`${gateway.url}/other`)).toBe(403);
    expect(invocations).toEqual([]);
  });

  test('the subprotocol is the one $connect returns', async () => {
    const { handlers } = recordingHandlers({ connect: () => ({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'v2' } }) });
    gateway = await startLocalGateway({ handlers });
    const client = await connectClient(gateway.url, ['v1', 'v2']);
    expect(client.socket.protocol).toBe('v2');
    client.socket.close();
  });

  test('callback-style and synchronous handlers work like in the Lambda runtime', async () => {
    const events: string[] = [];
    gateway = await startLocalGateway({
      handlers: {
        connect: (_event: LocalWebSocketEvent, _context: Context, callback: Callback) => {
          setTimeout(() => callback(null, { statusCode: 200 }), 5);
        },
        handler: (event: LocalWebSocketEvent) => ({ body: `sync:${event.body}` }),
        disconnect: (event: LocalWebSocketEvent) => {
          events.push(event.requestContext.eventType);
        },
      },
    });
    const client = await connectClient(gateway.url);
    client.socket.send('x');
    expect(await client.next()).toBe('sync:x');
    client.socket.close();
    await waitUntil(() => events.length === 1);
    expect(events).toEqual(['DISCONNECT']);
  });

  describe('authorizer', () => {
    test('its context reaches $connect only, by default', async () => {
      const { handlers, invocations } = recordingHandlers();
      gateway = await startLocalGateway({
        handlers,
        authorizer: (event) => ({ principalId: event.queryStringParameters?.token ?? 'none', tenant: 't1' }),
      });
      const client = await connectClient(`${gateway.url}?token=u1`);
      client.socket.send('x');
      client.socket.close();
      await waitUntil(() => invocations.length === 3);

      expect(invocations[0].event.requestContext.authorizer).toEqual({ principalId: 'u1', tenant: 't1' });
      expect(invocations[1].event.requestContext).not.toHaveProperty('authorizer');
      expect(invocations[2].event.requestContext).not.toHaveProperty('authorizer');
    });

    test('authorizerOnEveryRoute repeats it on MESSAGE and DISCONNECT', async () => {
      const { handlers, invocations } = recordingHandlers();
      gateway = await startLocalGateway({ handlers, authorizer: () => ({ principalId: 'p' }), authorizerOnEveryRoute: true });
      const client = await connectClient(gateway.url);
      client.socket.send('x');
      client.socket.close();
      await waitUntil(() => invocations.length === 3);
      expect(invocations.map((i) => i.event.requestContext.authorizer)).toEqual([{ principalId: 'p' }, { principalId: 'p' }, { principalId: 'p' }]);
    });

    test('a throw refuses the connection (401, or the error\'s statusCode) before $connect runs', async () => {
      const { handlers, invocations } = recordingHandlers();
      gateway = await startLocalGateway({
        handlers,
        logger: capturingLogger(),
        authorizer: (event) => {
          if (event.queryStringParameters?.token === 'banned') throw Object.assign(new Error('Forbidden'), { statusCode: 403 });
          throw new Error('Unauthorized');
        },
      });
      expect(await rejectedStatus(gateway.url)).toBe(401);
      expect(await rejectedStatus(`${gateway.url}?token=banned`)).toBe(403);
      expect(invocations).toEqual([]);
    });
  });
});
