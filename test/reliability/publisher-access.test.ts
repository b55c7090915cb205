import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import superjson from 'superjson';
import { quietLogger } from './support/env';
import { dynamodb } from '../../lambda';
import { CONNECTION_PARTITION_PREFIX, HISTORY_PARTITION_PREFIX, PUBLISHER_TABLE_ACCESS } from '../../lambda/constants';
import { historySubscriptions } from '../fixtures/history-router';
import { appSubscriptions } from '../fixtures/router';
import { connectEvent, messageEvent } from '../lambda/support/events';
import { startFakeManagementApi } from '../lambda/support/fake-management';
import { createTestTable, localDynamoDBClient, type TestTable } from '../support/dynamodb';

/**
 * The second half of the publisher's least privilege (the first: the synth test of
 * `grantPublish`'s conditions in test/src/trpc-subscription-api.test.ts). DynamoDB Local does not
 * evaluate IAM, so every request a publisher sends (publish with and without filters, the stale
 * 410 clean-up) is recorded and checked against `PUBLISHER_TABLE_ACCESS`, the data the grant's
 * conditions are made from, by a small evaluator of those conditions.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('access');
});
afterAll(() => table.client.destroy());

interface RecordedRequest {
  readonly command: string;
  readonly input: Record<string, any>;
}

function recordingClient(): { client: DynamoDBClient; requests: RecordedRequest[] } {
  const client = localDynamoDBClient(table.endpoint);
  const requests: RecordedRequest[] = [];
  client.middlewareStack.add((next, context) => async (args) => {
    requests.push({ command: String(context.commandName).replace(/Command$/, ''), input: structuredClone(args.input as Record<string, any>) });
    return next(args);
  }, { step: 'initialize', name: 'recordRequests' });
  return { client, requests };
}

/** Partition key values a request touches (`dynamodb:LeadingKeys`). */
function leadingKeys({ command, input }: RecordedRequest): string[] {
  switch (command) {
    case 'Query': {
      const match = /#(\w+) = (:\w+)/.exec(input.KeyConditionExpression);
      if (!match || input.ExpressionAttributeNames[`#${match[1]}`] !== 'pk') throw new Error(`Query without a pk condition: ${input.KeyConditionExpression}`);
      return [input.ExpressionAttributeValues[match[2]].S];
    }
    case 'GetItem':
    case 'DeleteItem':
      return [input.Key.pk.S];
    case 'PutItem':
      return [input.Item.pk.S];
    case 'BatchWriteItem':
      return Object.values(input.RequestItems as Record<string, any[]>).flat()
        .map((request) => (request.DeleteRequest?.Key ?? request.PutRequest?.Item).pk.S);
    default:
      return [];
  }
}

/** Attribute names a request names (`dynamodb:Attributes`): expression names and key attributes. */
function attributes({ command, input }: RecordedRequest): string[] {
  const named = Object.values((input.ExpressionAttributeNames ?? {}) as Record<string, string>);
  const keys = command === 'BatchWriteItem'
    ? Object.values(input.RequestItems as Record<string, any[]>).flat()
      .flatMap((request) => Object.keys(request.DeleteRequest?.Key ?? request.PutRequest?.Item))
    : Object.keys(input.Key ?? input.Item ?? {});
  return [...named, ...keys];
}

/** Why the conditions of the grant would refuse this request, or an empty list. */
function violations(request: RecordedRequest): string[] {
  const problems: string[] = [];
  const allowedActions: readonly string[] = PUBLISHER_TABLE_ACCESS.actions;
  const allowedAttributes: readonly string[] = PUBLISHER_TABLE_ACCESS.attributes;
  if (!allowedActions.includes(`dynamodb:${request.command}`)) problems.push(`action dynamodb:${request.command}`);
  for (const key of leadingKeys(request)) {
    if (!PUBLISHER_TABLE_ACCESS.partitionKeyPrefixes.some((prefix) => key.startsWith(prefix))) problems.push(`leading key ${key}`);
  }
  for (const name of attributes(request)) {
    if (!allowedAttributes.includes(name)) problems.push(`attribute ${name}`);
  }
  // Reads must name their attributes (Select SPECIFIC_ATTRIBUTES) or only count (Select COUNT).
  const select = request.input.Select as string | undefined;
  const selectAllowed: readonly string[] = PUBLISHER_TABLE_ACCESS.select;
  if (request.command === 'Query' && (!select || !selectAllowed.includes(select) || (select === 'SPECIFIC_ATTRIBUTES' && !request.input.ProjectionExpression))) {
    problems.push('Query without SPECIFIC_ATTRIBUTES');
  }
  if ((request.input.ReturnValues ?? 'NONE') !== 'NONE') problems.push(`ReturnValues ${request.input.ReturnValues}`);
  return problems;
}

test('the evaluator refuses what the conditions refuse: reading connection rows whole, secrets, other partitions, other actions', () => {
  const query = (names: Record<string, string>, select?: string, pk = `${CONNECTION_PARTITION_PREFIX}c1`): RecordedRequest => ({
    command: 'Query',
    input: {
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'pk', ...names },
      ExpressionAttributeValues: { ':pk': { S: pk } },
      ...(select ? { Select: select, ProjectionExpression: Object.keys(names).join(', ') } : {}),
    },
  });
  expect(violations(query({ '#conn': 'connectionId' }, 'SPECIFIC_ATTRIBUTES'))).toEqual([]);
  expect(violations(query({}))).toEqual(['Query without SPECIFIC_ATTRIBUTES']);
  expect(violations(query({ '#params': 'connectionParams' }, 'SPECIFIC_ATTRIBUTES'))).toEqual(['attribute connectionParams']);
  expect(violations(query({ '#connect': 'connect' }, 'SPECIFIC_ATTRIBUTES'))).toEqual(['attribute connect']);
  expect(violations(query({ '#conn': 'connectionId' }, 'SPECIFIC_ATTRIBUTES', 'OTHER#x'))).toEqual(['leading key OTHER#x']);
  expect(violations({ command: 'UpdateItem', input: { Key: { pk: { S: 'CONN#c1' }, sk: { S: 'CONN' } } } })).toEqual(['action dynamodb:UpdateItem']);
  expect(violations({ command: 'GetItem', input: { Key: { pk: { S: 'CONN#c1' }, sk: { S: 'CONN' } } } })).toEqual(['action dynamodb:GetItem']);
  expect(violations({ command: 'PutItem', input: { Item: { pk: { S: 'CONN#c1' }, sk: { S: 'CONN' }, connect: { M: {} } } } })).toEqual(['attribute connect']);
  expect(violations({ command: 'PutItem', input: { Item: { pk: { S: 'HIST#x' }, sk: { S: 'E#1' } }, ReturnValues: 'ALL_OLD' } })).toEqual(['ReturnValues ALL_OLD']);
  // A gone connection's rows, its connection row included, go with BatchWriteItem.
  expect(violations({ command: 'DeleteItem', input: { Key: { pk: { S: 'CONN#c1' }, sk: { S: 'CONN' } } } })).toEqual(['action dynamodb:DeleteItem']);
});

test('every DynamoDB request of a publisher (publish, filtered publish, stale 410 clean-up) stays inside the grant\'s conditions', async () => {
  const api = await startFakeManagementApi();
  const logger = quietLogger();
  const setup = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const connect = appSubscriptions.connect({ store: setup, logger });
  const handler = appSubscriptions.handler({ store: setup, logger, endpoint: api.endpoint });
  // Live connections with connectionParams (a token) and subscriptions, one with jsonrpc.
  for (const id of ['live', 'stale']) {
    await connect(connectEvent(id, { connectionParams: '1' }));
    await handler(messageEvent(id, { method: 'connectionParams', data: { userId: id, token: 'secret' } }));
    await handler(messageEvent(id, Array.from({ length: 3 }, (_, i) => ({
      id: i + 1, ...(i === 0 ? { jsonrpc: '2.0' } : {}), method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room: 'a' }) },
    }))));
  }
  api.always('stale', 410);
  const { client, requests } = recordingClient();
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: client, pageSize: 2 });
  const publisher = appSubscriptions.publisher({ endpoint: api.endpoint, store, logger });
  const data = { text: 'x', at: new Date(0), from: 'p' };
  expect(await publisher.routes.onMessage.publish({ data, filter: { name: 'byRoom', input: { room: 'a' } } })).toMatchObject({ delivered: 3, gone: 3 });
  expect(await publisher.routes.onMessage.publish({ data })).toMatchObject({ delivered: 3, gone: 0 });
  await api.close();

  // The run exercised each kind of request a publish sends: the 410 clean-up deletes the
  // connection row in a BatchWriteItem with its other rows.
  expect(new Set(requests.map((request) => request.command))).toEqual(new Set(['Query', 'BatchWriteItem']));
  expect(requests.filter((request) => leadingKeys(request).some((key) => key.startsWith(CONNECTION_PARTITION_PREFIX))).length).toBeGreaterThan(0);
  const refused = requests.map((request) => ({ command: request.command, problems: violations(request) }));
  expect(refused.filter((request) => request.problems.length > 0)).toEqual([]);
  expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  client.destroy();
});

test('a publish to a route with a history (the append: last id Query, PutItem) stays inside the grant\'s conditions', async () => {
  const api = await startFakeManagementApi();
  const logger = quietLogger();
  const setup = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const app = historySubscriptions().store({ store: setup });
  const connect = app.connect({ logger });
  const handler = app.handler({ logger, endpoint: api.endpoint });
  await connect(connectEvent('hist'));
  await handler(messageEvent('hist', { id: 1, method: 'subscription', params: { path: 'onEvent', input: superjson.serialize({ room: 'h' }) } }));
  const { client, requests } = recordingClient();
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: client });
  const publisher = app.store({ store }).publisher({ endpoint: api.endpoint, logger });
  const first = await publisher.routes.onEvent.publish({ data: { n: 1, room: 'h' }, filter: { name: 'byRoom', input: { room: 'h' } } });
  expect(first).toMatchObject({ delivered: 1, eventId: expect.any(String) });
  expect(await publisher.routes.onEvent.publish({ data: { n: 2, room: 'h' } })).toMatchObject({ delivered: 1 });
  await api.close();

  expect(new Set(requests.map((request) => request.command))).toEqual(new Set(['Query', 'PutItem']));
  expect(requests.filter((request) => leadingKeys(request).some((key) => key.startsWith(HISTORY_PARTITION_PREFIX))).length).toBeGreaterThan(1);
  const refused = requests.map((request) => ({ command: request.command, problems: violations(request) }));
  expect(refused.filter((request) => request.problems.length > 0)).toEqual([]);
  expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  client.destroy();
});
