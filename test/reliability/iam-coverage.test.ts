import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import superjson from 'superjson';
import { dynamodb } from '../../lambda';
import { historySubscriptions } from '../fixtures/history-router';
import { appSubscriptions } from '../fixtures/router';
import { quietLogger } from './support/env';
import { connectEvent, disconnectEvent, messageEvent } from '../lambda/support/events';
import { startFakeManagementApi } from '../lambda/support/fake-management';
import { logicalId, realtimeStack } from '../src/helpers';
import { createTestTable, localDynamoDBClient, type TestTable } from '../support/dynamodb';

/**
 * The IAM grants (asserted exactly in test/src/trpc-subscription-api.test.ts) checked against
 * what the runtime really calls: every DynamoDB action the handlers and a publisher use on
 * DynamoDB Local is granted, and every granted table action is used (least privilege).
 * `TransactWriteItems` is authorised through the item actions it contains.
 */
let table: TestTable;

beforeAll(async () => {
  table = await createTestTable('iam');
});
afterAll(() => table.client.destroy());

/** A client that records the IAM actions of every call it sends. */
function recordingClient(): { client: DynamoDBClient; actions: Set<string> } {
  const client = localDynamoDBClient(table.endpoint);
  const actions = new Set<string>();
  client.middlewareStack.add((next, context) => async (args) => {
    const command = String(context.commandName).replace(/Command$/, '');
    if (command === 'TransactWriteItems') {
      const items = (args.input as { TransactItems: Record<string, unknown>[] }).TransactItems;
      for (const item of items) {
        const kind = Object.keys(item)[0];
        actions.add(`dynamodb:${kind === 'ConditionCheck' ? 'ConditionCheckItem' : `${kind}Item`}`);
      }
    } else {
      actions.add(`dynamodb:${command}`);
    }
    return next(args);
  }, { step: 'initialize', name: 'recordActions' });
  return { client, actions };
}

/** Table actions granted to a role in the synthesized template. */
function grantedTableActions(policies: Record<string, any>, roleLogicalId: string, tableLogicalId: string): string[] {
  const granted = new Set<string>();
  for (const policy of Object.values(policies)) {
    if (!policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleLogicalId)) continue;
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      const resources = [statement.Resource].flat();
      if (resources.some((resource) => JSON.stringify(resource).includes(tableLogicalId))) {
        for (const action of [statement.Action].flat()) granted.add(action);
      }
    }
  }
  return [...granted].sort();
}

test('the handler role and grantPublish grant exactly the DynamoDB actions the runtime calls', async () => {
  const { stack, realtime, template } = realtimeStack();
  const producer = new LambdaFunction(stack, 'Producer', { runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: Code.fromInline('exports.handler=async()=>{}') });
  realtime.grantPublish(producer);
  const policies = template().findResources('AWS::IAM::Policy');
  const tableId = logicalId(stack, realtime.table as never);
  const handlerGranted = grantedTableActions(policies, logicalId(stack, realtime.handlerRole as iam.Role), tableId);
  const publishGranted = grantedTableActions(policies, logicalId(stack, producer.role as iam.Role), tableId);
  expect(handlerGranted.length).toBeGreaterThan(0);
  expect(publishGranted.length).toBeGreaterThan(0);

  const api = await startFakeManagementApi();
  const logger = quietLogger();
  // Everything the three handlers do: connect, params, subscribe, stop (stored and unknown), a
  // mutation that publishes from inside $default, disconnect with more than 25 rows.
  const handlers = recordingClient();
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: handlers.client });
  const connect = appSubscriptions.connect({ store, logger });
  const handler = appSubscriptions.handler({ store, logger, endpoint: api.endpoint });
  const disconnect = appSubscriptions.disconnect({ store, logger });
  await connect(connectEvent('c1', { connectionParams: '1' }));
  await handler(messageEvent('c1', { method: 'connectionParams', data: { userId: 'u1' } }));
  await handler(messageEvent('c1', Array.from({ length: 12 }, (_, i) => ({ id: i + 1, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room: 'a' }) } }))));
  await handler(messageEvent('c1', { id: 1, method: 'subscription.stop' }));
  await handler(messageEvent('c1', { id: 99, method: 'subscription.stop' }));
  await handler(messageEvent('c1', { id: 100, method: 'mutation', params: { path: 'sendMessage', input: superjson.serialize({ room: 'a', text: 'x' }) } }));
  await disconnect(disconnectEvent('c1'));

  // A producer: publish, meeting a 410 whose rows it removes; a publish to a route with a history.
  await appSubscriptions.connect({ store: dynamodb({ tableName: table.tableName, dynamoDBClient: table.client }), logger })(connectEvent('c2'));
  await appSubscriptions.handler({ store: dynamodb({ tableName: table.tableName, dynamoDBClient: table.client }), logger, endpoint: api.endpoint })(
    messageEvent('c2', Array.from({ length: 15 }, (_, i) => ({ id: i + 1, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room: 'b' }) } }))),
  );
  api.always('c2', 410);
  const publisher = recordingClient();
  const publisherStore = dynamodb({ tableName: table.tableName, dynamoDBClient: publisher.client });
  const result = await appSubscriptions.publisher({ endpoint: api.endpoint, store: publisherStore, logger })
    .routes.onMessage.publish({ data: { text: 'x', at: new Date(0), from: 'p' } });
  expect(result.gone).toBe(15);
  // A publish to a route with a history appends the event (PutItem on HIST#).
  const appended = await historySubscriptions().store({ store: publisherStore }).publisher({ endpoint: api.endpoint, logger })
    .routes.onEvent.publish({ data: { n: 1, room: null } });
  expect(appended.eventId).toEqual(expect.any(String));
  await api.close();

  expect([...handlers.actions].sort()).toEqual(handlerGranted);
  expect([...publisher.actions].sort()).toEqual(publishGranted);
  expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  handlers.client.destroy();
  publisher.client.destroy();
});

test('grantControl grants exactly the DynamoDB actions of server-side stop, reconnect, disconnect and presence; the rollover role those of a rollover', async () => {
  const { stack, realtime, template } = realtimeStack();
  const backend = new LambdaFunction(stack, 'Backend', { runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: Code.fromInline('exports.handler=async()=>{}') });
  realtime.grantControl(backend);
  const policies = template().findResources('AWS::IAM::Policy');
  const tableId = logicalId(stack, realtime.table as never);
  const controlGranted = grantedTableActions(policies, logicalId(stack, backend.role as iam.Role), tableId);
  const rolloverGranted = grantedTableActions(policies, logicalId(stack, realtime.rolloverHandler!.role as iam.Role), tableId);

  const api = await startFakeManagementApi();
  const logger = quietLogger();
  const setup = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const connect = appSubscriptions.connect({ store: setup, logger });
  const handler = appSubscriptions.handler({ store: setup, logger, endpoint: api.endpoint });
  for (const id of ['k1', 'k2', 'k3']) {
    await connect(connectEvent(id));
    await handler(messageEvent(id, [1, 2].map((n) => ({ id: n, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room: 'k' }) } }))));
  }

  const control = recordingClient();
  const recorded = dynamodb({ tableName: table.tableName, dynamoDBClient: control.client });
  // A subscription a concurrent client stop removed after the publish Query found it: the server's
  // stop then leaves a tombstone, as a client's stop of an unknown id does.
  const store: typeof recorded = Object.assign(Object.create(recorded), {
    async *findSubscribers(query: Parameters<typeof recorded.findSubscribers>[0]) {
      yield* recorded.findSubscribers(query);
      if (query.path === 'onMessage') yield [{ connectionId: 'k3', subscriptionId: 77 }];
    },
  });
  const publisher = appSubscriptions.publisher({ endpoint: api.endpoint, store, logger });
  const { TRPCError } = await import('@trpc/server');
  const stop = await publisher.routes.onMessage.stop({ filter: { name: 'byRoom', input: { room: 'k' } }, error: new TRPCError({ code: 'FORBIDDEN' }) });
  expect(stop.stopped).toBe(7);
  await publisher.connections.count('nobody');
  await publisher.connections.reconnect({ all: true });
  await publisher.connections.disconnect({ connectionId: 'k1' });
  api.always('k2', 410);
  await publisher.connections.reconnect({ key: 'nobody' });
  await publisher.connections.reconnect({ connectionId: 'k2' });

  const rollover = recordingClient();
  const rolloverStore = dynamodb({ tableName: table.tableName, dynamoDBClient: rollover.client });
  await appSubscriptions.rollover({ endpoint: api.endpoint, store: rolloverStore, logger, olderThanMs: 1 })();
  await api.close();

  expect([...control.actions].sort()).toEqual(controlGranted);
  expect([...rollover.actions].every((action) => rolloverGranted.includes(action))).toBe(true);
  expect(rollover.actions.has('dynamodb:Query')).toBe(true);
  control.client.destroy();
  rollover.client.destroy();
});
