import { iamRequestsOf, type IamRequest, type RequestTargets } from './support/iam-requests';
import { RequestRecorder, type RecordedRequest } from './support/recorder';
import {
  controlScenario, handlerScenario, hooksScenario, multiRegionScenario, publisherScenario, rolloverScenario, startScenarioQueue, workerScenario,
  type CodePath, type ScenarioEnv,
} from './support/scenarios';
import { findSendSites } from './support/send-sites';
import { simulateAll, type Decision } from './support/simulator';
import { grantStack, targetsOf, type GrantStack, type StackRole } from './support/stacks';
import type { BundleFeatures } from '../../src/trpc-subscription-api-props';
import { startFakeManagementApi, type FakeManagementApi } from '../lambda/support/fake-management';
import { quietLogger } from '../reliability/support/env';
import { createTestTable, type TestTable } from '../support/dynamodb';

/**
 * Every AWS request each role's code sends, evaluated against that role's synthesized policy by an
 * independent IAM policy simulator (`@cloud-copilot/iam-simulate`), with DynamoDB's fine-grained
 * context keys as AWS documents them (test/iam/support/iam-requests.ts). The scenarios run the
 * real runtime on DynamoDB Local, a fake Management API and a local queue, with recording clients
 * (test/iam/support/scenarios.ts); the policies come from the template, resolved as deployed.
 *
 * The simulator lacks two things, which the tests supply: it does not derive request context
 * keys from an API request (nor know `TransactWriteItems` and `SendMessageBatch`, which are
 * authorized as their item actions and `sqs:SendMessage`), and it does not say whether a grant is
 * wider than the code needs (the least-privilege check below compares granted and sent actions).
 *
 * The same holds for one Region of a two-Region deployment (`multiRegion` with a peer), where
 * managing connections of any other API, stage or Region must be refused.
 */
let table: TestTable;
/** The requests of the scenarios of an app without lifecycle hooks (every scenario but the hooks one). */
let recorder: RequestRecorder;
/** The requests of the hooks scenario (an app with lifecycle hooks). */
let hookedRecorder: RequestRecorder;
let grants: GrantStack;
let targets: RequestTargets;
/** The single-Region scenarios' requests aimed at another stack of the same kind (its API, queue). */
let targetsFor: (stack: GrantStack) => RequestTargets;
/** One Region of two: its own table, recorder and stack. */
const twoRegions = { region: 'eu-west-1', peerRegion: 'us-east-1', peerApiId: 'peerapi123' };
let regional: { table: TestTable; recorder: RequestRecorder; grants: GrantStack; targets: RequestTargets };
const logger = quietLogger();

/** Runs the single-Region scenarios on one fake API and queue; the stack they are checked against. */
async function singleRegion(): Promise<void> {
  table = await createTestTable('iam');
  const api = await startFakeManagementApi({ stage: 'prod' });
  recorder = new RequestRecorder();
  hookedRecorder = new RequestRecorder();
  const scenarioQueue = await startScenarioQueue();
  const env = (prefix: string, into = recorder): ScenarioEnv => ({ recorder: into, table, api, prefix, logger });
  try {
    await handlerScenario(env('h-'));
    await rolloverScenario(env('r-'));
    await publisherScenario(env('p-'), scenarioQueue.queue);
    await controlScenario(env('c-'));
    await workerScenario(env('w-'), scenarioQueue);
    await hooksScenario(env('k-', hookedRecorder), scenarioQueue);
  } finally {
    await scenarioQueue.queue.close();
    await api.close();
  }
  grants = grantStack({ tableName: table.tableName });
  const origin = new URL(api.endpoint).origin;
  targetsFor = (stack) => targetsOf(stack, new Map([[origin, { region: stack.deployment.region, apiId: stack.apiId }]]), scenarioQueue.queue.url);
  targets = targetsFor(grants);
}

/** Runs the two-Region scenario (this Region's code, both Regions' APIs); the stack of this Region. */
async function oneRegionOfTwo(): Promise<void> {
  const { region, peerRegion, peerApiId } = twoRegions;
  const regionTable = await createTestTable('iam-mr');
  const here = await startFakeManagementApi({ stage: 'prod' });
  const there = await startFakeManagementApi({ stage: 'prod' });
  const regionRecorder = new RequestRecorder();
  const endpoints = { [region]: here.endpoint, [peerRegion]: there.endpoint };
  const env = (name: string, api: FakeManagementApi): ScenarioEnv => ({
    recorder: regionRecorder, table: regionTable, api, prefix: `mr-${name}-`, logger, regions: { region: name, endpoints },
  });
  const scenarioQueue = await startScenarioQueue();
  try {
    await multiRegionScenario(env(region, here), env(peerRegion, there), scenarioQueue);
  } finally {
    await scenarioQueue.queue.close();
    await here.close();
    await there.close();
  }
  const regionGrants = grantStack({
    tableName: regionTable.tableName,
    region,
    props: { multiRegion: { tableName: regionTable.tableName, replicaRegions: [peerRegion], peers: [{ region: peerRegion, apiId: peerApiId }] } },
  });
  regional = {
    table: regionTable,
    recorder: regionRecorder,
    grants: regionGrants,
    targets: targetsOf(regionGrants, new Map([
      [new URL(here.endpoint).origin, { region, apiId: regionGrants.apiId }],
      [new URL(there.endpoint).origin, { region: peerRegion, apiId: peerApiId }],
    ]), scenarioQueue.queue.url),
  };
}

beforeAll(async () => {
  await singleRegion();
  await oneRegionOfTwo();
}, 400_000);

afterAll(() => {
  recorder?.destroy();
  hookedRecorder?.destroy();
  table?.client.destroy();
  regional?.recorder.destroy();
  regional?.table.client.destroy();
});

/** Every request of the single-Region scenarios, with hooks and without. */
const allRequests = (): RecordedRequest[] => [...recorder.requests, ...hookedRecorder.requests];

const requestsOf = (codePaths: readonly CodePath[], to: RequestTargets = targets, from: readonly RecordedRequest[] = allRequests()): IamRequest[] =>
  from.filter((request) => codePaths.includes(request.codePath as CodePath)).flatMap((request) => iamRequestsOf(request, to));

/**
 * What Lambda's SQS event source mapping sends with the worker's role (the local queue plays it):
 * `ReceiveMessage`, `DeleteMessage`, `GetQueueAttributes` ("Using Lambda with Amazon SQS",
 * execution role permissions), and `ChangeMessageVisibility` for a partial batch response.
 */
function eventSourceRequests(): IamRequest[] {
  return ['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes', 'ChangeMessageVisibility'].map((operation) => ({
    action: `sqs:${operation}`, resource: grants.queueArn, context: { 'aws:SecureTransport': 'true' }, describe: `the event source mapping's ${operation}`,
  }));
}

const refused = (decisions: readonly Decision[]) =>
  [...new Set(decisions.filter((decision) => decision.result !== 'Allowed').map((decision) => `${decision.request.describe}: ${decision.result} (${decision.why})`))];

describe('each role is allowed every request its code sends', () => {
  test.each([
    '$connect handler', '$default handler', '$disconnect handler', 'rollover', 'fan-out worker',
    'grantPublish grantee', 'PublisherFunction', 'grantControl grantee',
  ])('%s', async (name) => {
    const role = grants.roles.find((candidate) => candidate.name === name)!;
    const requests = [...requestsOf(role.codePaths), ...(name === 'fan-out worker' ? eventSourceRequests() : [])];
    expect(requests.length).toBeGreaterThan(0);
    const decisions = await simulateAll(grants.deployment, grants.deployment.rolePolicies(role.roleLogicalId), requests);
    expect(refused(decisions)).toEqual([]);
    // Every context key supplied applies to its action (the simulator drops the others).
    expect(decisions.filter((decision) => decision.ignoredContextKeys.length > 0).map((decision) => `${decision.request.describe}: ${decision.ignoredContextKeys}`)).toEqual([]);
  });
});

/** A request's kind: what IAM looks at, with partition keys reduced to their prefix. */
function kindOf(request: IamRequest): string {
  const { 'dynamodb:LeadingKeys': keys, 'aws:SecureTransport': _, ...rest } = request.context;
  const prefixes = [keys ?? []].flat().map((key) => key.slice(0, key.indexOf('#') + 1));
  return JSON.stringify([request.action, [...new Set(prefixes)].sort(), rest, request.action.startsWith('dynamodb:') ? '' : request.resource.replace(/@connections\/.*/, '')]);
}

test('grantPublish and PublisherFunction are refused what only a server-side stop sends', async () => {
  const publisherKinds = new Set(requestsOf(['publisher']).map(kindOf));
  // The stop's own writes (a transaction counts whole: it fails when one item is refused). Its
  // reads of a subscription row's named attributes (`stopped`, `indexKeys`) are a publisher's too:
  // with lifecycle hooks, a gone connection's rows are read and deleted one by one on that flag.
  const stopOnly = allRequests().filter((request) => request.codePath === 'control')
    .filter((request) => request.operation !== 'Query')
    .map((request) => ({ request, iam: iamRequestsOf(request, targets) }))
    .filter(({ iam }) => iam.some((item) => !publisherKinds.has(kindOf(item))));
  expect(stopOnly.map(({ request }) => request.operation)).toEqual(expect.arrayContaining(['TransactWriteItems']));
  for (const role of grants.roles.filter((candidate) => candidate.publishes && !candidate.controls)) {
    const policies = grants.deployment.rolePolicies(role.roleLogicalId);
    const allowed: string[] = [];
    for (const { request, iam } of stopOnly) {
      const decisions = await simulateAll(grants.deployment, policies, iam);
      if (decisions.every((decision) => decision.result === 'Allowed')) allowed.push(`${request.operation}: ${iam.map((item) => item.describe).join('; ')}`);
    }
    expect({ role: role.name, allowed }).toEqual({ role: role.name, allowed: [] });
  }
});

/** Reads that would return a connection row's `connectionParams` or `$connect` snapshot (tokens). */
function connectionRowReads(): IamRequest[] {
  const key = { pk: { S: 'CONN#victim' }, sk: { S: 'CONN' } };
  const query = (extra: Record<string, unknown>) => ({
    TableName: table.tableName,
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeValues: { ':pk': { S: 'CONN#victim' } },
    ...extra,
    ExpressionAttributeNames: { '#pk': 'pk', ...(extra.ExpressionAttributeNames as object) },
  });
  const reads: Array<Pick<RecordedRequest, 'operation' | 'input'>> = [
    { operation: 'GetItem', input: { TableName: table.tableName, Key: key } },
    { operation: 'GetItem', input: { TableName: table.tableName, Key: key, ProjectionExpression: '#p', ExpressionAttributeNames: { '#p': 'connectionParams' } } },
    { operation: 'Query', input: query({}) },
    { operation: 'Query', input: query({ Select: 'ALL_ATTRIBUTES' }) },
    { operation: 'Query', input: query({ ProjectionExpression: '#p', ExpressionAttributeNames: { '#p': 'connectionParams' }, Select: 'SPECIFIC_ATTRIBUTES' }) },
    { operation: 'Query', input: query({ ProjectionExpression: '#c', ExpressionAttributeNames: { '#c': 'connect' }, Select: 'SPECIFIC_ATTRIBUTES' }) },
    { operation: 'UpdateItem', input: { TableName: table.tableName, Key: key, UpdateExpression: 'SET #at = :at', ExpressionAttributeNames: { '#at': 'connectedAt' }, ReturnValues: 'ALL_OLD' } },
    { operation: 'DeleteItem', input: { TableName: table.tableName, Key: key, ReturnValues: 'ALL_OLD' } },
  ];
  return reads.flatMap((read) => iamRequestsOf({ codePath: 'attacker', service: 'dynamodb', sites: [], ...read }, targets));
}

test('no publisher or controller can read connection rows whole or their params; the handlers can', async () => {
  const reads = connectionRowReads();
  const allowedTo = async (role: StackRole) => (await simulateAll(grants.deployment, grants.deployment.rolePolicies(role.roleLogicalId), reads))
    .filter((decision) => decision.result === 'Allowed').map((decision) => decision.request.describe);
  for (const role of grants.roles.filter((candidate) => candidate.publishes)) {
    expect({ role: role.name, allowed: await allowedTo(role) }).toEqual({ role: role.name, allowed: [] });
  }
  // The same requests pass the handlers' unconditioned grant: the refusals above are the fences'.
  const handler = grants.roles.find((role) => role.name === '$default handler')!;
  expect(await allowedTo(handler)).toHaveLength(reads.length);
});

/**
 * Writes to room presence rows beyond what a release and a leave send: a member's exposed fields
 * or key, a new member row, a member row's delete, a pointer row's update, whole-row reads and
 * returned rows outside the presence partitions. `PRES#*` must not match `PRESREF#` keys (nor the
 * other way round): each statement reaches its own partitions only.
 */
function presenceForgeries(): IamRequest[] {
  const member = { pk: { S: 'PRES#lobby#byRoom#x' }, sk: { S: 'M#user:eve' } };
  const pointer = { pk: { S: 'PRESREF#victim' }, sk: { S: 'S#1' } };
  const update = (key: object, names: Record<string, string>, extra: Record<string, unknown> = {}) => ({
    TableName: table.tableName,
    Key: key,
    UpdateExpression: `SET ${Object.keys(names).map((name, index) => `${name} = :v${index}`).join(', ')}`,
    ExpressionAttributeNames: names,
    ...extra,
  });
  const writes: Array<Pick<RecordedRequest, 'operation' | 'input'>> = [
    { operation: 'UpdateItem', input: update(member, { '#m': 'member' }) },
    { operation: 'UpdateItem', input: update(member, { '#k': 'key' }, { ReturnValues: 'ALL_NEW' }) },
    { operation: 'UpdateItem', input: update(member, { '#e': 'expireAt' }) },
    { operation: 'PutItem', input: { TableName: table.tableName, Item: { ...member, key: { S: 'user:eve' }, member: { S: '{}' }, present: { BOOL: true } } } },
    { operation: 'DeleteItem', input: { TableName: table.tableName, Key: member, ReturnValues: 'ALL_OLD' } },
    // A member update's attributes on a pointer row, a pointer delete on a member row.
    { operation: 'UpdateItem', input: update(pointer, { '#p': 'present' }, { ReturnValues: 'ALL_NEW' }) },
    { operation: 'UpdateItem', input: update(pointer, { '#r': 'room' }) },
    { operation: 'DeleteItem', input: { TableName: table.tableName, Key: { pk: { S: 'PRES#lobby#byRoom#x' }, sk: { S: 'S#1' } }, ReturnValues: 'ALL_OLD' } },
    // The presence statements' returned rows and attributes on a connection row.
    { operation: 'UpdateItem', input: update({ pk: { S: 'CONN#victim' }, sk: { S: 'CONN' } }, { '#p': 'present' }, { ReturnValues: 'ALL_NEW' }) },
    { operation: 'DeleteItem', input: { TableName: table.tableName, Key: { pk: { S: 'CONN#victim' }, sk: { S: 'S#1' } }, ReturnValues: 'ALL_OLD' } },
    { operation: 'Query', input: { TableName: table.tableName, KeyConditionExpression: '#pk = :pk', ExpressionAttributeNames: { '#pk': 'pk' }, ExpressionAttributeValues: { ':pk': { S: 'PRESREF#victim' } } } },
  ];
  return writes.flatMap((write) => iamRequestsOf({ codePath: 'attacker', service: 'dynamodb', sites: [], ...write }, targets));
}

test('no publisher or controller can write presence rows beyond a release and a leave; the handlers can', async () => {
  const forgeries = presenceForgeries();
  const allowedTo = async (role: StackRole) => (await simulateAll(grants.deployment, grants.deployment.rolePolicies(role.roleLogicalId), forgeries))
    .filter((decision) => decision.result === 'Allowed').map((decision) => decision.request.describe);
  for (const role of grants.roles.filter((candidate) => candidate.publishes)) {
    expect({ role: role.name, allowed: await allowedTo(role) }).toEqual({ role: role.name, allowed: [] });
  }
  const handler = grants.roles.find((role) => role.name === '$default handler')!;
  expect(await allowedTo(handler)).toHaveLength(forgeries.length);
});

/** The partition keys a request touches. */
const leadingKeys = (request: IamRequest): string[] => [request.context['dynamodb:LeadingKeys'] ?? []].flat();
/** Whether a request touches room presence rows (`PRES#`, `PRESREF#`). */
const touchesPresence = (request: IamRequest) => leadingKeys(request).some((key) => key.startsWith('PRES'));
/** Whether a request touches a route's event history (`HIST#`). */
const touchesHistory = (request: IamRequest) => leadingKeys(request).some((key) => key.startsWith('HIST#'));

/**
 * For an app that leaves a feature out (`features`): each publisher role's code still sends the
 * feature's requests (`touches`) in the scenarios, among others (`recorded` says what of the
 * feature's must be there), every other request is allowed and none of the feature's is.
 */
async function expectFeatureLeftOut(
  features: BundleFeatures, touches: (request: IamRequest) => boolean, recorded: (featureRequests: IamRequest[]) => boolean,
): Promise<void> {
  const lean = grantStack({ tableName: table.tableName, props: { bundleFeatures: features } });
  for (const name of ['grantPublish grantee', 'PublisherFunction', 'grantControl grantee']) {
    const role = lean.roles.find((candidate) => candidate.name === name)!;
    const requests = requestsOf(role.codePaths, targetsFor(lean));
    const feature = requests.filter(touches);
    expect({ name, recorded: recorded(feature), other: requests.length > feature.length }).toEqual({ name, recorded: true, other: true });
    const decisions = await simulateAll(lean.deployment, lean.deployment.rolePolicies(role.roleLogicalId), requests);
    expect({ name, refusedOther: refused(decisions.filter((decision) => !touches(decision.request))) }).toEqual({ name, refusedOther: [] });
    const allowed = decisions.filter((decision) => decision.result === 'Allowed').map((decision) => decision.request);
    expect({ name, allowedFeature: allowed.filter(touches).map((request) => request.describe) }).toEqual({ name, allowedFeature: [] });
  }
}

test('an app without presence (bundleFeatures.presence false): its publishers keep every other request and lose every presence one', async () => {
  await expectFeatureLeftOut({ presence: false }, touchesPresence, (presence) => presence.length > 0);
});

/**
 * Attributes that only lifecycle hooks name: a subscription row's route, `onSubscribe`'s state and
 * the stop's `stopping` mark, a connection row's `ending` mark and whether it was accepted. A
 * publisher without hooks never names `stopped` either; a controller's stop does.
 */
const HOOKS_ATTRIBUTES = ['path', 'hookState', 'stopping', 'ending', 'awaitingConnectionParams', 'refusal'];

test('an app without lifecycle hooks (bundleFeatures.hooks false): its publishers keep every request and lose the hooks\' own', async () => {
  const lean = grantStack({ tableName: table.tableName, props: { bundleFeatures: { hooks: false } } });
  for (const name of ['grantPublish grantee', 'PublisherFunction', 'grantControl grantee']) {
    const role = lean.roles.find((candidate) => candidate.name === name)!;
    const policies = lean.deployment.rolePolicies(role.roleLogicalId);
    // Every scenario but the hooks one runs an app without hooks.
    const kept = requestsOf(role.codePaths, targetsFor(lean), recorder.requests);
    expect({ name, refused: refused(await simulateAll(lean.deployment, policies, kept)) }).toEqual({ name, refused: [] });
    // What only hooks send: what names their attributes and, but for a controller (whose stop
    // deletes and updates rows without hooks too), a delete or update outside presence rows.
    const hookAttributes = role.controls ? HOOKS_ATTRIBUTES : [...HOOKS_ATTRIBUTES, 'stopped'];
    const hooksOnly = requestsOf(role.codePaths, targetsFor(lean), hookedRecorder.requests).filter((request) =>
      [request.context['dynamodb:Attributes'] ?? []].flat().some((attribute) => hookAttributes.includes(attribute))
      || (!role.controls && ['dynamodb:DeleteItem', 'dynamodb:UpdateItem'].includes(request.action) && !touchesPresence(request)));
    // The conditional deletes and the marks (`ending`; a stop's `stopping`) and the reads of the hooks' attributes.
    const sends = (action: string, attribute: string) => hooksOnly.some((request) =>
      request.action === action && [request.context['dynamodb:Attributes'] ?? []].flat().includes(attribute));
    expect({ name, query: sends('dynamodb:Query', 'hookState'), mark: sends('dynamodb:UpdateItem', role.controls ? 'stopping' : 'ending') })
      .toEqual({ name, query: true, mark: true });
    if (!role.controls) expect({ name, delete: sends('dynamodb:DeleteItem', 'stopped') }).toEqual({ name, delete: true });
    const decisions = await simulateAll(lean.deployment, policies, hooksOnly);
    expect({ name, allowedHooks: decisions.filter((decision) => decision.result === 'Allowed').map((decision) => decision.request.describe) })
      .toEqual({ name, allowedHooks: [] });
  }
});

test('an app without an event history (bundleFeatures.history false): its publishers keep every other request and lose every history one', async () => {
  await expectFeatureLeftOut({ history: false }, touchesHistory, (history) => history.some((request) => request.action === 'dynamodb:PutItem'));
});

/** The table actions a role's policies allow. */
function tableActionsGranted(stack: GrantStack, roleLogicalId: string): Set<string> {
  const tableArn = `arn:aws:dynamodb:${stack.deployment.region}:${stack.deployment.account}:table/${table.tableName}`;
  const granted = new Set<string>();
  for (const { policy } of stack.deployment.rolePolicies(roleLogicalId).identityPolicies) {
    for (const statement of policy.Statement) {
      if (statement.Effect === 'Allow' && [statement.Resource].flat().includes(tableArn)) for (const action of [statement.Action].flat()) granted.add(action);
    }
  }
  return granted;
}

test('no role is granted a table action its code never sends (least privilege)', () => {
  // A role shared by several functions (the handlers and the rollover) runs all their code.
  const codePathsOf = new Map<string, Set<CodePath>>();
  for (const role of grants.roles) {
    const paths = codePathsOf.get(role.roleLogicalId) ?? new Set<CodePath>();
    for (const codePath of role.codePaths) paths.add(codePath);
    codePathsOf.set(role.roleLogicalId, paths);
  }
  for (const [roleLogicalId, codePaths] of codePathsOf) {
    const granted = tableActionsGranted(grants, roleLogicalId);
    const sent = new Set(requestsOf([...codePaths]).map((request) => request.action));
    expect(granted.size).toBeGreaterThan(0);
    expect({ roleLogicalId, unused: [...granted].filter((action) => !sent.has(action)).sort() }).toEqual({ roleLogicalId, unused: [] });
  }
});

test('an app without presence, hooks or a history: its publishers, controllers and worker are granted no table action only those send', async () => {
  const lean = grantStack({ tableName: table.tableName, props: { bundleFeatures: { presence: false, hooks: false, history: false } } });
  for (const name of ['grantPublish grantee', 'PublisherFunction', 'grantControl grantee', 'fan-out worker']) {
    const role = lean.roles.find((candidate) => candidate.name === name)!;
    // What such an app sends: the scenarios without hooks, less their presence and history requests.
    const sent = requestsOf(role.codePaths, targetsFor(lean), recorder.requests)
      .filter((request) => !touchesPresence(request) && !touchesHistory(request));
    const decisions = await simulateAll(lean.deployment, lean.deployment.rolePolicies(role.roleLogicalId), sent);
    expect({ name, refused: refused(decisions) }).toEqual({ name, refused: [] });
    const actions = new Set(sent.map((request) => request.action));
    const unused = [...tableActionsGranted(lean, role.roleLogicalId)].filter((action) => !actions.has(action)).sort();
    expect({ name, unused }).toEqual({ name, unused: [] });
  }
});

/**
 * Calls that send nothing in every context they run in, so no scenario can record them: each
 * answers with a single frame, which goes back as the two-way route's response (no post), or adds
 * to a batch that the even cut always closes itself.
 */
const SITES_THAT_NEVER_SEND: Readonly<Record<string, string>> = {
  'lambda/handlers/message.ts handleMessage -> deliverFrames#1': 'a connectionParams frame is answered by at most one frame, the route response',
  'lambda/handlers/message.ts handleMessage -> deliverFrames#2': 'a batch over maxBatchSize is answered by one error frame, the route response',
  'lambda/handlers/message.ts (anonymous in createMessageHandler) -> deliverFrames': 'a frame that is not JSON is answered by one PARSE_ERROR frame, the route response',
};

describe('one Region of two', () => {
  const regionalRequests = (codePaths: readonly CodePath[]): IamRequest[] => regional.recorder.requests
    .filter((request) => codePaths.includes(request.codePath as CodePath)).flatMap((request) => iamRequestsOf(request, regional.targets));

  test('the scenario reached both Regions\' APIs', () => {
    const apiIds = new Set(regionalRequests(['handler', 'publisher', 'worker']).filter((request) => request.action === 'execute-api:ManageConnections')
      .map((request) => request.resource.split(':')[5].split('/')[0]));
    expect(apiIds).toEqual(new Set([regional.grants.apiId, twoRegions.peerApiId]));
  });

  test.each(['$default handler', 'rollover', 'fan-out worker', 'grantPublish grantee', 'PublisherFunction', 'grantControl grantee'])(
    '%s: every request its code sends, to either Region\'s API, is allowed; no other API, stage or Region is',
    async (name) => {
      const { grants: regionGrants } = regional;
      const { region, peerRegion, peerApiId } = twoRegions;
      const role = regionGrants.roles.find((candidate) => candidate.name === name)!;
      const policies = regionGrants.deployment.rolePolicies(role.roleLogicalId);
      const sent = await simulateAll(regionGrants.deployment, policies, regionalRequests(role.codePaths));
      expect(sent.length).toBeGreaterThan(0);
      expect(refused(sent)).toEqual([]);
      const account = regionGrants.deployment.account;
      const others = [
        `arn:aws:execute-api:${peerRegion}:${account}:zzzzzzzzzz/prod/POST/@connections/c`,
        `arn:aws:execute-api:${peerRegion}:${account}:${peerApiId}/dev/POST/@connections/c`,
        `arn:aws:execute-api:ap-southeast-2:${account}:${peerApiId}/prod/POST/@connections/c`,
        `arn:aws:execute-api:${region}:${account}:zzzzzzzzzz/prod/DELETE/@connections/c`,
        `arn:aws:execute-api:${peerRegion}:${account}:${regionGrants.apiId}/prod/POST/@connections/c`,
        // Reading a connection's state: the runtime never does, so no role may.
        `arn:aws:execute-api:${region}:${account}:${regionGrants.apiId}/prod/GET/@connections/c`,
        `arn:aws:execute-api:${peerRegion}:${account}:${peerApiId}/prod/GET/@connections/c`,
      ].map((resource): IamRequest => ({ action: 'execute-api:ManageConnections', resource, context: { 'aws:SecureTransport': 'true' }, describe: resource }));
      const decisions = await simulateAll(regionGrants.deployment, policies, others);
      expect(decisions.filter((decision) => decision.result === 'Allowed').map((decision) => decision.request.describe)).toEqual([]);
    },
  );
});

test('every AWS request the runtime can send is sent by a scenario (a new request needs one)', () => {
  const sent = new Set([...allRequests(), ...regional.recorder.requests].flatMap((request) => request.sites));
  const sites = findSendSites();
  expect(sites.length).toBeGreaterThan(50);
  const unsent = sites.filter((site) => !sent.has(`${site.file}:${site.line}`));
  expect(unsent.filter((site) => !(site.id in SITES_THAT_NEVER_SEND)).map((site) => `${site.id} (line ${site.line})`)).toEqual([]);
  // An exemption names a call that exists and is still never recorded.
  expect(Object.keys(SITES_THAT_NEVER_SEND).filter((id) => !unsent.some((site) => site.id === id))).toEqual([]);
});

