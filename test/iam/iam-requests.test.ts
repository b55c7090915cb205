import { expressionAttributes, iamRequestsOf, type RequestTargets } from './support/iam-requests';
import type { RecordedRequest } from './support/recorder';

/**
 * The translation of recorded requests into what IAM evaluates (action, resource, context keys),
 * checked against the rules of DynamoDB's fine-grained access control, API Gateway's
 * `@connections` ARNs and SQS's batch send.
 */
const targets: RequestTargets = {
  account: '123456789012',
  region: 'eu-west-1',
  apiAt: (origin) => {
    if (origin !== 'http://127.0.0.1:4711') throw new Error(`unknown ${origin}`);
    return { region: 'eu-west-1', apiId: 'abcdefghij' };
  },
  queueArn: () => 'arn:aws:sqs:eu-west-1:123456789012:fan-out',
};

const recorded = (service: RecordedRequest['service'], operation: string, input: Record<string, any>, http?: RecordedRequest['http']): RecordedRequest => ({
  codePath: 'test', service, operation, input, ...(http ? { http } : {}), sites: [],
});

test('expressions name their top-level attributes: placeholders resolved, functions, keywords, values and nested paths left out', () => {
  const names = { '#pk': 'pk', '#count': 'subscriptionCount', '#a': 'doc', '#b': 'inner' };
  expect(expressionAttributes('attribute_exists(#pk) AND (attribute_not_exists(#count) OR #count < :max)', names)).toEqual(['pk', 'subscriptionCount', 'subscriptionCount']);
  expect(expressionAttributes('SET #count = if_not_exists(#count, :zero) + :one REMOVE lease ADD delivered :d', names))
    .toEqual(['subscriptionCount', 'subscriptionCount', 'lease', 'delivered']);
  expect(expressionAttributes('#a.#b, list[2].x, size(#pk)', names)).toEqual(['doc', 'list', 'pk']);
  expect(expressionAttributes(undefined, names)).toEqual([]);
  expect(() => expressionAttributes('#missing = :x', names)).toThrow('#missing');
});

test('a transaction is one request per item, as the item actions, each with its own keys and attributes', () => {
  const requests = iamRequestsOf(recorded('dynamodb', 'TransactWriteItems', {
    TransactItems: [
      { Delete: { TableName: 't', Key: { pk: { S: 'CONN#c' }, sk: { S: 'SUB#1' } }, ConditionExpression: 'attribute_not_exists(#s)', ExpressionAttributeNames: { '#s': 'stopped' } } },
      { Delete: { TableName: 't', Key: { pk: { S: 'ROUTE#r' }, sk: { S: 'x' } } } },
      { ConditionCheck: { TableName: 't', Key: { pk: { S: 'CONN#c' }, sk: { S: 'CONN' } }, ConditionExpression: 'attribute_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } } },
      { Put: { TableName: 't', Item: { pk: { S: 'CONN#c' }, sk: { S: 'SUB#2' }, stopped: { BOOL: true } } } },
      { Update: { TableName: 't', Key: { pk: { S: 'CONN#c' }, sk: { S: 'CONN' } }, UpdateExpression: 'SET #n = :n', ExpressionAttributeNames: { '#n': 'subscriptionCount' } } },
    ],
  }), targets);
  expect(requests.map(({ action, resource, context }) => ({ action, resource, context }))).toEqual([
    { action: 'dynamodb:DeleteItem', context: { 'aws:SecureTransport': 'true', 'dynamodb:LeadingKeys': ['CONN#c'], 'dynamodb:Attributes': ['pk', 'sk', 'stopped'], 'dynamodb:EnclosingOperation': 'TransactWriteItems' } },
    { action: 'dynamodb:DeleteItem', context: { 'aws:SecureTransport': 'true', 'dynamodb:LeadingKeys': ['ROUTE#r'], 'dynamodb:Attributes': ['pk', 'sk'], 'dynamodb:EnclosingOperation': 'TransactWriteItems' } },
    { action: 'dynamodb:ConditionCheckItem', context: { 'aws:SecureTransport': 'true', 'dynamodb:LeadingKeys': ['CONN#c'], 'dynamodb:Attributes': ['pk', 'sk'] } },
    { action: 'dynamodb:PutItem', context: { 'aws:SecureTransport': 'true', 'dynamodb:LeadingKeys': ['CONN#c'], 'dynamodb:Attributes': ['pk', 'sk', 'stopped'], 'dynamodb:EnclosingOperation': 'TransactWriteItems' } },
    { action: 'dynamodb:UpdateItem', context: { 'aws:SecureTransport': 'true', 'dynamodb:LeadingKeys': ['CONN#c'], 'dynamodb:Attributes': ['pk', 'sk', 'subscriptionCount'], 'dynamodb:EnclosingOperation': 'TransactWriteItems' } },
  ].map((expected) => ({ ...expected, resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/t' })));
});

test('reads: a Query names its key condition, filter and projection; without Select it reads all attributes unless it projects', () => {
  const query = (extra: Record<string, unknown>) => iamRequestsOf(recorded('dynamodb', 'Query', {
    TableName: 't',
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :p)',
    ExpressionAttributeValues: { ':pk': { S: 'KEY#u' }, ':p': { S: 'a' } },
    ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#ttl': 'expireAt', '#c': 'connectionId' },
    FilterExpression: '#ttl > :now',
    ...extra,
  }), targets)[0].context;
  expect(query({ ProjectionExpression: '#c' })).toMatchObject({ 'dynamodb:LeadingKeys': ['KEY#u'], 'dynamodb:Attributes': ['connectionId', 'expireAt', 'pk', 'sk'], 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' });
  expect(query({ ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#ttl': 'expireAt' } })).toMatchObject({ 'dynamodb:Select': 'ALL_ATTRIBUTES' });
  expect(query({ ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#ttl': 'expireAt' }, Select: 'COUNT' })).toMatchObject({ 'dynamodb:Select': 'COUNT' });
  const get = iamRequestsOf(recorded('dynamodb', 'GetItem', { TableName: 't', Key: { pk: { S: 'CONN#c' }, sk: { S: 'CONN' } } }), targets)[0];
  expect(get.context).toMatchObject({ 'dynamodb:Attributes': ['pk', 'sk'], 'dynamodb:Select': 'ALL_ATTRIBUTES' });
});

test('writes carry ReturnValues (NONE unless set); a batch carries every item\'s key', () => {
  const deleted = iamRequestsOf(recorded('dynamodb', 'DeleteItem', { TableName: 't', Key: { pk: { S: 'CONN#c' }, sk: { S: 'CONN' } } }), targets)[0];
  expect(deleted.context).toMatchObject({ 'dynamodb:ReturnValues': 'NONE' });
  const updated = iamRequestsOf(recorded('dynamodb', 'UpdateItem', {
    TableName: 't', Key: { pk: { S: 'QUEUE#b' }, sk: { S: 'BATCH' } }, UpdateExpression: 'SET #l = :l', ExpressionAttributeNames: { '#l': 'leaseUntil' }, ReturnValues: 'ALL_OLD',
  }), targets)[0];
  expect(updated.context).toMatchObject({ 'dynamodb:ReturnValues': 'ALL_OLD', 'dynamodb:Attributes': ['leaseUntil', 'pk', 'sk'] });
  const batch = iamRequestsOf(recorded('dynamodb', 'BatchWriteItem', {
    RequestItems: {
      t: [
        { DeleteRequest: { Key: { pk: { S: 'ROUTE#r' }, sk: { S: '1' } } } },
        { PutRequest: { Item: { pk: { S: 'AGE#5' }, sk: { S: 'c' }, connectionId: { S: 'c' } } } },
      ],
    },
  }), targets);
  expect(batch).toHaveLength(1);
  expect(batch[0]).toMatchObject({ action: 'dynamodb:BatchWriteItem', context: { 'dynamodb:LeadingKeys': ['AGE#5', 'ROUTE#r'], 'dynamodb:Attributes': ['connectionId', 'pk', 'sk'] } });
});

test('Management API calls are ManageConnections on the connection\'s @connections ARN; SQS batches are SendMessage', () => {
  const post = iamRequestsOf(recorded('execute-api', 'PostToConnection', { ConnectionId: 'a=' }, { method: 'POST', url: 'http://127.0.0.1:4711/prod/@connections/a%3D' }), targets)[0];
  expect(post).toMatchObject({ action: 'execute-api:ManageConnections', resource: 'arn:aws:execute-api:eu-west-1:123456789012:abcdefghij/prod/POST/@connections/a=' });
  const remove = iamRequestsOf(recorded('execute-api', 'DeleteConnection', { ConnectionId: 'b' }, { method: 'DELETE', url: 'http://127.0.0.1:4711/prod/@connections/b' }), targets)[0];
  expect(remove.resource).toBe('arn:aws:execute-api:eu-west-1:123456789012:abcdefghij/prod/DELETE/@connections/b');
  expect(() => iamRequestsOf(recorded('execute-api', 'PostToConnection', {}, { method: 'POST', url: 'http://127.0.0.1:9/prod/@connections/b' }), targets)).toThrow('unknown');
  const batch = iamRequestsOf(recorded('sqs', 'SendMessageBatch', { QueueUrl: 'http://q', Entries: [] }), targets)[0];
  expect(batch).toMatchObject({ action: 'sqs:SendMessage', resource: 'arn:aws:sqs:eu-west-1:123456789012:fan-out' });
  expect(() => iamRequestsOf(recorded('dynamodb', 'Scan', { TableName: 't' }), targets)).toThrow('no IAM translation');
});
