import { Readable } from 'node:stream';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { memory } from '../../../lambda';
import { silentLogger } from '../../../lambda/local';
import { buildMessageEvent, type ConnectionFacts } from '../../../lambda/local/events';
import { appSubscriptions } from '../../fixtures/router';

/**
 * A cold `$default` pays for the Management API client only when it posts: frames answered by the
 * route response (a subscribe, a query, a stop) create none (issue 24, cold start).
 */
const FACTS: ConnectionFacts = {
  connectionId: 'lazy-client=', connectedAt: Date.now(), stage: 'prod', apiId: 'abcdefghij', domainName: '127.0.0.1:9', sourceIp: '127.0.0.1',
};
const message = (frame: unknown) => buildMessageEvent(FACTS, { body: JSON.stringify(frame), isBase64Encoded: false, includeAuthorizer: false });
const subscribe = (id: number) => ({ id, method: 'subscription', params: { path: 'onMessage', input: { json: { room: 'r' } } } });

test('GIVEN $default WHEN frames are answered by the route response THEN no Management API client is created, and one is when a frame is posted', async () => {
  const created: string[] = [];
  const posted: string[] = [];
  const store = memory();
  await store.putConnection({
    connectionId: FACTS.connectionId,
    connectedAt: FACTS.connectedAt,
    expireAt: Math.floor(Date.now() / 1000) + 7800,
    awaitingConnectionParams: false,
    connect: {},
  });
  const handler = appSubscriptions.handler({
    store,
    logger: silentLogger,
    endpoint: 'http://127.0.0.1:9/prod',
    managementClient: (endpoint) => {
      created.push(endpoint);
      return new ApiGatewayManagementApiClient({
        endpoint,
        region: 'local',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        requestHandler: {
          handle: async (request: { path: string }) => {
            posted.push(request.path);
            return { response: { statusCode: 200, headers: {}, body: Readable.from([]) } };
          },
        } as never,
      });
    },
  });

  expect(JSON.parse((await handler(message(subscribe(1)))).body!)).toEqual({ id: 1, result: { type: 'started' } });
  const answer = (await handler(message({ id: 2, method: 'query', params: { path: 'whoami', input: { json: undefined } } }))).body!;
  expect(JSON.parse(answer)).toEqual({ id: 2, result: { type: 'data', data: { json: 'anon' } } });
  expect(JSON.parse((await handler(message({ id: 1, method: 'subscription.stop' }))).body!)).toEqual({ id: 1, result: { type: 'stopped' } });
  expect(created).toEqual([]);

  // Two requests in one frame: the first answer is posted, the last is the route response.
  const batch = await handler(message([subscribe(3), subscribe(4)]));
  expect(JSON.parse(batch.body!)).toEqual({ id: 4, result: { type: 'started' } });
  expect(created).toEqual(['http://127.0.0.1:9/prod']);
  expect(posted).toEqual(['/prod/@connections/lazy-client%3D']);
});
