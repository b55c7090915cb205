/**
 * What IAM authorizes for a recorded AWS request: the action, the resource ARN and the request
 * context keys, as AWS documents them. The simulator evaluates these; it does not derive them
 * from an API request itself (it knows actions, resource types and condition operators).
 *
 * DynamoDB fine-grained access control ("Using IAM policy conditions for fine-grained access
 * control", DynamoDB Developer Guide):
 * - `dynamodb:LeadingKeys`: the partition key values of the items the request touches (a Query's
 *   key condition, a key, an item, every item of a batch).
 * - `dynamodb:Attributes`: the top-level attribute names the request names: the key attributes
 *   (`Key`, or every attribute of a `PutItem` `Item`), and every name in its projection, key
 *   condition, filter, condition and update expressions ("attributes can be read, written, or
 *   evaluated in a conditional write or scan filter").
 * - `dynamodb:Select`: a Query's `Select`; without it DynamoDB reads `SPECIFIC_ATTRIBUTES` when a
 *   projection is given, else `ALL_ATTRIBUTES` (a read "always has a value"). GetItem likewise.
 * - `dynamodb:ReturnValues`: PutItem, UpdateItem and DeleteItem always have one (`NONE` unless set).
 * - `TransactWriteItems` is not an IAM action: each item is authorized as the item action it
 *   starts (PutItem, UpdateItem, DeleteItem, ConditionCheckItem; "Using IAM with DynamoDB
 *   transactions"), with `dynamodb:EnclosingOperation` for the three that document it.
 *   Items carry no `ReturnValues` (only `ReturnValuesOnConditionCheckFailure`, no condition key).
 * - `BatchWriteItem` is one action whose keys are every item's.
 *
 * API Gateway: `execute-api:ManageConnections` on
 * `arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/@connections/{connection-id}`.
 * SQS: `SendMessageBatch` is authorized as `sqs:SendMessage` (it has no action of its own).
 */
import type { RecordedRequest } from './recorder';

/** A request as IAM evaluates it. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, string | string[]>>;
  /** What the runtime sent, for messages: e.g. `TransactWriteItems[0] Delete CONN#c/SUB#1`. */
  readonly describe: string;
}

/** Where the recorded requests go in the synthesized deployment. */
export interface RequestTargets {
  readonly account: string;
  /** The Region of the table and queue (the stack's). */
  readonly region: string;
  /** The API (Region and id) behind a Management API endpoint origin, e.g. `http://127.0.0.1:4711`. */
  apiAt(origin: string): { readonly region: string; readonly apiId: string };
  /** The ARN of a queue by its URL. */
  queueArn(queueUrl: string): string;
}

type AttributeValue = Record<string, any>;
type Names = Readonly<Record<string, string>> | undefined;

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'BETWEEN', 'IN', 'SET', 'REMOVE', 'ADD', 'DELETE']);
const TOKEN = /#[A-Za-z0-9_]+|:[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*|\[\s*\d+\s*\]|<>|<=|>=|\S/g;

/**
 * The top-level attribute names of a DynamoDB expression (projection, key condition, filter,
 * condition or update): the first element of each document path, `#name`s resolved. Function
 * names and keywords are not attributes; `a.b[0]` names `a`.
 */
export function expressionAttributes(expression: string | undefined, names: Names): string[] {
  if (!expression) return [];
  const tokens = expression.match(TOKEN) ?? [];
  const found: string[] = [];
  for (const [index, token] of tokens.entries()) {
    const previous = tokens[index - 1];
    if (previous === '.') continue; // a nested element of a path
    if (token.startsWith('#')) {
      const name = names?.[token];
      if (name === undefined) throw new Error(`expression ${JSON.stringify(expression)} uses ${token}, which ExpressionAttributeNames does not define`);
      found.push(name);
    } else if (/^[A-Za-z_]/.test(token) && !KEYWORDS.has(token.toUpperCase()) && tokens[index + 1] !== '(') {
      found.push(token);
    }
  }
  return found;
}

function stringKey(value: AttributeValue | undefined, what: string): string {
  if (typeof value?.S !== 'string') throw new Error(`${what}: the partition key is not a string (${JSON.stringify(value)})`);
  return value.S;
}

/** The partition key value a Query's key condition names (`#pk = :pk`, the table's `pk`). */
function queryLeadingKey(input: Record<string, any>): string {
  const names = input.ExpressionAttributeNames as Names;
  const condition = String(input.KeyConditionExpression ?? '');
  for (const match of condition.matchAll(/(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)/g)) {
    const name = match[1].startsWith('#') ? names?.[match[1]] : match[1];
    if (name === 'pk') return stringKey(input.ExpressionAttributeValues?.[match[2]], 'Query');
  }
  throw new Error(`Query without an equality on pk: ${condition}`);
}

const unique = (values: readonly string[]) => [...new Set(values)].sort();

function tableArn(targets: RequestTargets, tableName: string): string {
  return `arn:aws:dynamodb:${targets.region}:${targets.account}:table/${tableName}`;
}

/** One item of a write (a single-item call or a transaction item) as its IAM request. */
function itemRequest(
  targets: RequestTargets, action: string, item: Record<string, any>, describe: string,
  extra: Record<string, string> = {},
): IamRequest {
  const names = item.ExpressionAttributeNames as Names;
  const keyAttributes = Object.keys(item.Key ?? item.Item ?? {});
  const leadingKey = stringKey((item.Key ?? item.Item)?.pk, describe);
  const attributes = unique([
    ...keyAttributes,
    ...expressionAttributes(item.ConditionExpression, names),
    ...expressionAttributes(item.UpdateExpression, names),
    ...expressionAttributes(item.ProjectionExpression, names),
  ]);
  return {
    action: `dynamodb:${action}`,
    resource: tableArn(targets, item.TableName),
    context: { 'dynamodb:LeadingKeys': [leadingKey], 'dynamodb:Attributes': attributes, ...extra },
    describe: `${describe} ${leadingKey}${item.Key?.sk?.S ? `/${item.Key.sk.S}` : item.Item?.sk?.S ? `/${item.Item.sk.S}` : ''} naming ${attributes.join(', ')}`
      + (extra['dynamodb:ReturnValues'] && extra['dynamodb:ReturnValues'] !== 'NONE' ? ` returning ${extra['dynamodb:ReturnValues']}` : ''),
  };
}

function capacity(input: Record<string, any>): Record<string, string> {
  return input.ReturnConsumedCapacity ? { 'dynamodb:ReturnConsumedCapacity': input.ReturnConsumedCapacity } : {};
}

function dynamodbRequests(targets: RequestTargets, operation: string, input: Record<string, any>): IamRequest[] {
  switch (operation) {
    case 'GetItem':
      return [itemRequest(targets, 'GetItem', input, 'GetItem', {
        'dynamodb:Select': input.ProjectionExpression ? 'SPECIFIC_ATTRIBUTES' : 'ALL_ATTRIBUTES', ...capacity(input),
      })];
    case 'PutItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return [itemRequest(targets, operation, input, operation, { 'dynamodb:ReturnValues': input.ReturnValues ?? 'NONE', ...capacity(input) })];
    case 'Query': {
      const names = input.ExpressionAttributeNames as Names;
      const leadingKey = queryLeadingKey(input);
      const attributes = unique([
        ...expressionAttributes(input.KeyConditionExpression, names),
        ...expressionAttributes(input.FilterExpression, names),
        ...expressionAttributes(input.ProjectionExpression, names),
      ]);
      const select = input.Select ?? (input.ProjectionExpression ? 'SPECIFIC_ATTRIBUTES' : 'ALL_ATTRIBUTES');
      return [{
        action: 'dynamodb:Query',
        resource: tableArn(targets, input.TableName),
        context: { 'dynamodb:LeadingKeys': [leadingKey], 'dynamodb:Attributes': attributes, 'dynamodb:Select': select, ...capacity(input) },
        describe: `Query ${leadingKey} (${select}) naming ${attributes.join(', ')}`,
      }];
    }
    case 'BatchWriteItem':
      return Object.entries(input.RequestItems as Record<string, Array<Record<string, any>>>).map(([tableName, writes]) => {
        const items = writes.map((write) => write.PutRequest?.Item ?? write.DeleteRequest?.Key);
        const leadingKeys = unique(items.map((item) => stringKey(item.pk, 'BatchWriteItem')));
        const attributes = unique(items.flatMap((item) => Object.keys(item)));
        const kinds = unique(writes.map((write) => Object.keys(write)[0]));
        return {
          action: 'dynamodb:BatchWriteItem',
          resource: tableArn(targets, tableName),
          context: { 'dynamodb:LeadingKeys': leadingKeys, 'dynamodb:Attributes': attributes, ...capacity(input) },
          describe: `BatchWriteItem ${kinds.join('+')} of ${leadingKeys.join(', ')} naming ${attributes.join(', ')}`,
        };
      });
    case 'TransactWriteItems':
      return (input.TransactItems as Array<Record<string, any>>).map((entry, index) => {
        const [kind, item] = Object.entries(entry)[0];
        const action = kind === 'ConditionCheck' ? 'ConditionCheckItem' : `${kind}Item`;
        const enclosing: Record<string, string> = kind === 'ConditionCheck' ? {} : { 'dynamodb:EnclosingOperation': 'TransactWriteItems' };
        return itemRequest(targets, action, item, `TransactWriteItems[${index}] ${kind}`, { ...enclosing, ...capacity(input) });
      });
    default:
      throw new Error(`DynamoDB ${operation}: no IAM translation yet; add one to test/iam/support/iam-requests.ts (from the Developer Guide's condition keys)`);
  }
}

function managementRequest(targets: RequestTargets, operation: string, http: RecordedRequest['http']): IamRequest {
  if (!http) throw new Error(`${operation}: recorded without its HTTP request`);
  const url = new URL(http.url);
  const match = /^\/([^/]+)\/@connections\/([^/]+)$/.exec(url.pathname);
  if (!match) throw new Error(`${operation}: not an @connections URL: ${http.url}`);
  const { region, apiId } = targets.apiAt(url.origin);
  const connectionId = decodeURIComponent(match[2]);
  return {
    action: 'execute-api:ManageConnections',
    resource: `arn:aws:execute-api:${region}:${targets.account}:${apiId}/${match[1]}/${http.method}/@connections/${connectionId}`,
    context: {},
    describe: `${operation} (${http.method}) to ${apiId}/${match[1]} in ${region}`,
  };
}

function sqsRequest(targets: RequestTargets, operation: string, input: Record<string, any>): IamRequest {
  if (operation !== 'SendMessage' && operation !== 'SendMessageBatch') {
    throw new Error(`SQS ${operation}: no IAM translation yet; add one to test/iam/support/iam-requests.ts`);
  }
  return { action: 'sqs:SendMessage', resource: targets.queueArn(input.QueueUrl), context: {}, describe: `${operation} to ${input.QueueUrl}` };
}

/** The IAM requests of one recorded request (a transaction gives one per item). */
export function iamRequestsOf(request: RecordedRequest, targets: RequestTargets): IamRequest[] {
  const requests = request.service === 'dynamodb'
    ? dynamodbRequests(targets, request.operation, request.input)
    : request.service === 'execute-api'
      ? [managementRequest(targets, request.operation, request.http)]
      : [sqsRequest(targets, request.operation, request.input)];
  // Every request reaches AWS over TLS (queue policies deny anything else).
  return requests.map((iam) => ({ ...iam, context: { 'aws:SecureTransport': 'true', ...iam.context } }));
}
