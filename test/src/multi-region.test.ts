import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { HANDLERS_ENTRY, PRODUCER_ENTRY, appWithoutBundling } from './helpers';
import type { RegionalStack } from '../../example/multi-region/regional-stack';
import { multiRegionApp, TABLE_NAME } from '../../example/multi-region/regions';
import { PropValidationError, TrpcSubscriptionApi, type TrpcSubscriptionApiProps } from '../../src';

const API_IDS = { 'eu-west-1': 'abcdef1234', 'us-east-1': '0123456789' };
const entries = { handlersEntry: HANDLERS_ENTRY, producerEntry: PRODUCER_ENTRY };

/** The `@connections/*` ARNs of one API and stage as synthesised for a peer (literal id and Region). */
function peerArns(region: string, apiId: string): unknown[] {
  return ['POST', 'DELETE'].map((method) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:execute-api:${region}:`, { Ref: 'AWS::AccountId' }, `:${apiId}/prod/${method}/@connections/*`]],
  }));
}

function functionEnvironments(template: Template): Array<Record<string, unknown>> {
  return Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.Environment.Variables);
}

function manageConnectionsResources(template: Template): unknown[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
    .filter((statement: { Action: unknown }) => statement.Action === 'execute-api:ManageConnections')
    .flatMap((statement: { Resource: unknown[] }) => statement.Resource);
}

describe('the multi-region example app', () => {
  let outdir: string;
  let stacks: RegionalStack[];
  let templates: Template[];

  beforeAll(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'trpc-subscriptions-multi-region-'));
    const app = new App({ outdir });
    stacks = multiRegionApp(app, API_IDS, entries);
    // Offline: bundles with esbuild, no lookups, no credentials.
    app.synth();
    templates = stacks.map((stack) => Template.fromStack(stack));
  });

  afterAll(() => {
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  test('GIVEN two Regions WHEN synthesised THEN the primary creates the global table with a replica in the other, which only uses it', () => {
    const [eu, us] = templates;
    eu.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    eu.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: TABLE_NAME,
      Replicas: [{ Region: 'us-east-1' }, { Region: 'eu-west-1' }].map((replica) => ({ ...replica, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false } })),
      TimeToLiveSpecification: { AttributeName: 'expireAt', Enabled: true },
    });
    us.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    us.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(stacks[1].dependencies).toEqual([stacks[0]]);
    for (const variables of functionEnvironments(us)) expect(variables.TRPC_SUBSCRIPTIONS_TABLE_NAME).toBe(TABLE_NAME);
  });

  test('GIVEN peers WHEN synthesised THEN every function knows its Region and every Region\'s endpoint', () => {
    const stack = stacks[1];
    for (const variables of functionEnvironments(templates[1])) {
      expect(variables.TRPC_SUBSCRIPTIONS_REGION).toBe('us-east-1');
      // References shown as <Name>, so the JSON can be read back.
      const endpoints = JSON.parse(stack.resolve(variables.TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS)['Fn::Join'][1]
        .map((part: unknown) => (typeof part === 'string' ? part : `<${String(Object.values(part as object)[0])}>`)).join(''));
      expect(endpoints).toEqual({
        'us-east-1': 'https://<RealtimeWebSocketApiF9B350A8>.execute-api.us-east-1.<AWS::URLSuffix>/prod',
        'eu-west-1': 'https://abcdef1234.execute-api.eu-west-1.<AWS::URLSuffix>/prod',
      });
    }
  });

  test('GIVEN peers WHEN synthesised THEN ManageConnections reaches exactly the own and the peer API\'s stage, per method', () => {
    templates.forEach((template, index) => {
      const [own, other] = index === 0 ? ['eu-west-1', 'us-east-1'] : ['us-east-1', 'eu-west-1'];
      const resources = manageConnectionsResources(template);
      // The handlers' role and the producer: each has the own stage's two ARNs (POST, DELETE) and the peer's two.
      expect(resources).toHaveLength(2 * 4);
      const peer = peerArns(other, API_IDS[other as keyof typeof API_IDS]);
      expect(resources.filter((arn) => peer.some((expected) => JSON.stringify(expected) === JSON.stringify(arn)))).toHaveLength(2 * 2);
      expect(JSON.stringify(resources)).not.toContain(`execute-api:${other}:*`);
      expect(JSON.stringify(resources)).toContain(`:execute-api:${own}:`);
    });
  });

  test('GIVEN the example WHEN checked by cdk-nag AwsSolutions THEN both stacks are clean', () => {
    const app = appWithoutBundling();
    for (const stack of multiRegionApp(app, API_IDS, entries)) {
      const report = new AwsSolutionsChecks().validateScope(stack);
      expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    }
  });

  test('GIVEN no API ids yet (first deployment) WHEN synthesised THEN each Region knows only itself and grants only its own stage', () => {
    const [eu] = multiRegionApp(appWithoutBundling(), {}, entries);
    const template = Template.fromStack(eu);
    for (const variables of functionEnvironments(template)) {
      expect(JSON.stringify(eu.resolve(variables.TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS))).not.toContain('us-east-1');
    }
    expect(manageConnectionsResources(template)).toHaveLength(2 * 2);
  });
});

describe('multiRegion validation', () => {
  function build(props: Partial<TrpcSubscriptionApiProps>, region: string | null = 'eu-west-1'): TrpcSubscriptionApi {
    const stack = new Stack(appWithoutBundling(), 'Stack', region ? { env: { region } } : {});
    return new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, ...props });
  }
  const base = { tableName: 'subs', replicaRegions: ['us-east-1'] };

  test.each<[string, Partial<TrpcSubscriptionApiProps>, string | null, string]>([
    ['a region-agnostic stack', { multiRegion: base }, null, '`multiRegion` needs a stack with an explicit region (env: { region }), got: a region-agnostic stack'],
    ['the own Region as a replica', { multiRegion: { ...base, replicaRegions: ['eu-west-1'] } }, 'eu-west-1', '`multiRegion.replicaRegions` must not include the stack\'s own Region, got: eu-west-1'],
    ['a repeated replica', { multiRegion: { ...base, replicaRegions: ['us-east-1', 'us-east-1'] } }, 'eu-west-1', '`multiRegion.replicaRegions` must not repeat a Region, got: us-east-1'],
    ['a misspelt Region', { multiRegion: { ...base, replicaRegions: ['US East'] } }, 'eu-west-1', '`multiRegion.replicaRegions` must hold Region names such as us-east-1, got: "US East"'],
    ['a peer in the own Region', { multiRegion: { tableName: 'subs', peers: [{ region: 'eu-west-1', apiId: 'abcdef1234' }] } }, 'eu-west-1',
      '`multiRegion.peers` must not include the stack\'s own Region, got: eu-west-1'],
    ['a bad API id', { multiRegion: { tableName: 'subs', peers: [{ region: 'us-east-1', apiId: 'https://x' }] } }, 'eu-west-1',
      '`multiRegion.peers` API ids must be 10 lowercase letters or digits, got: us-east-1: "https://x"'],
    ['a bad table name', { multiRegion: { tableName: 'a b' } }, 'eu-west-1', '`multiRegion.tableName` must be 3 to 255 letters, digits, `_`, `-` or `.`, got: "a b"'],
  ])('GIVEN %s WHEN constructed THEN it throws naming the prop', (_case, props, region, message) => {
    expect(() => build(props, region)).toThrow(PropValidationError);
    expect(() => build(props, region)).toThrow(message);
  });

  test('GIVEN multiRegion with bundleFeatures.multiRegion false WHEN constructed THEN it throws naming the prop', () => {
    expect(() => build({ multiRegion: base, bundleFeatures: { multiRegion: false } })).toThrow(PropValidationError);
    expect(() => build({ multiRegion: base, bundleFeatures: { multiRegion: false } })).toThrow(
      '`bundleFeatures.multiRegion` must not be false with `multiRegion` (the functions would be bundled without the routing of posts to the other Regions), got: false');
    // Kept (the default) or left out in one Region, it builds.
    expect(() => build({ multiRegion: base, bundleFeatures: { multiRegion: true } })).not.toThrow();
    expect(() => build({ bundleFeatures: { multiRegion: false } })).not.toThrow();
  });

  test('GIVEN multiRegion with `table` or `encryptionKey` WHEN constructed THEN it throws naming both', () => {
    const stack = new Stack(appWithoutBundling(), 'Other', { env: { region: 'eu-west-1' } });
    const encryptionKey = new Key(stack, 'Key');
    expect(() => build({ multiRegion: base, encryptionKey })).toThrow('`multiRegion` cannot be combined with `encryptionKey`');
    const other = build({});
    expect(() => build({ multiRegion: base, table: other.table })).toThrow('`multiRegion` cannot be combined with `table`');
  });

  test('GIVEN multiRegion and queuedFanOut WHEN synthesised THEN the worker gets the Region environment and ManageConnections on the peer\'s stage, as the publisher does', () => {
    const api = build({ multiRegion: { tableName: 'subs', peers: [{ region: 'us-east-1', apiId: '0123456789' }] }, queuedFanOut: {} });
    const stack = Stack.of(api);
    const template = Template.fromStack(stack);
    const workerId = stack.getLogicalId(api.fanOut!.worker.node.defaultChild as CfnFunction);
    const handlerId = stack.getLogicalId(api.messageHandler.node.defaultChild as CfnFunction);
    const variables = (id: string) => template.toJSON().Resources[id].Properties.Environment.Variables;

    expect(variables(workerId).TRPC_SUBSCRIPTIONS_REGION).toBe('eu-west-1');
    expect(variables(workerId).TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS).toEqual(variables(handlerId).TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS);
    expect(JSON.stringify(stack.resolve(variables(workerId).TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS))).toContain('0123456789.execute-api.us-east-1.');
    const workerRoleId = stack.getLogicalId(api.fanOut!.role.node.defaultChild as CfnRole);
    const workerArns = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: workerRoleId }]))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .filter((statement: { Action: unknown }) => statement.Action === 'execute-api:ManageConnections')
      .flatMap((statement: { Resource: unknown[] }) => statement.Resource);
    expect(workerArns).toHaveLength(4);
    expect(workerArns).toEqual(expect.arrayContaining(peerArns('us-east-1', '0123456789')));
  });

  test('GIVEN a single Region WHEN synthesised THEN no function gets the multi-region variables', () => {
    const template = Template.fromStack(Stack.of(build({})));
    for (const variables of functionEnvironments(template)) {
      expect(Object.keys(variables)).not.toContain('TRPC_SUBSCRIPTIONS_REGION');
      expect(Object.keys(variables)).not.toContain('TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS');
    }
  });
});
