import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { HANDLERS_ENTRY, PRODUCER_ENTRY, appWithoutBundling, logicalId } from './helpers';
import { assetHashSerializer } from './snapshot-serializers';
import { ExampleStack } from '../../example/stack';
import { TrpcSubscriptionApi } from '../../src';

expect.addSnapshotSerializer(assetHashSerializer);

function exampleStack(app: App): ExampleStack {
  return new ExampleStack(app, 'TrpcSubscriptionsExample', {
    handlersEntry: HANDLERS_ENTRY,
    producerEntry: PRODUCER_ENTRY,
  });
}

describe('example stack, bundled for real with esbuild', () => {
  let outdir: string;
  let stack: ExampleStack;
  let template: Template;

  beforeAll(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'trpc-subscriptions-synth-'));
    const app = new App({ outdir });
    // The example's own handlers module (the real runtime), so that each function's bundle holds its role.
    stack = new ExampleStack(app, 'TrpcSubscriptionsExample', { producerEntry: PRODUCER_ENTRY });
    app.synth();
    template = Template.fromStack(stack);
  });

  afterAll(() => {
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  const s3Key = (fn: { node: { defaultChild?: unknown } }): string =>
    template.toJSON().Resources[logicalId(stack as Stack, fn)].Properties.Code.S3Key;
  const bundleOf = (fn: { node: { defaultChild?: unknown } }) => {
    const bundleDir = path.join(outdir, `asset.${s3Key(fn).replace(/\.zip$/, '')}`);
    return { bundleDir, code: fs.readFileSync(path.join(bundleDir, 'index.js'), 'utf8') };
  };
  const load = (code: string): Record<string, any> => {
    const moduleExports = { exports: {} as Record<string, any> };
    new Function('module', 'exports', 'require', code)(moduleExports, moduleExports.exports, require);
    return moduleExports.exports;
  };

  test('GIVEN the example stack WHEN synthesised THEN the template matches the snapshot', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  test('GIVEN one handlers module WHEN bundled THEN each function has its own bundle, of its role, and the producer has its own', () => {
    const { realtime, producer } = stack;
    const functions = [realtime.connectHandler, realtime.messageHandler, realtime.disconnectHandler, realtime.rolloverHandler!, producer];

    const keys = functions.map(s3Key);
    expect(new Set(keys).size).toBe(functions.length);
    const assetDirs = fs.readdirSync(outdir).filter((name) => name.startsWith('asset.'));
    expect(assetDirs.sort()).toEqual(keys.map((key) => `asset.${key.replace(/\.zip$/, '')}`).sort());
    const loadsManagementApi = (fn: { node: { defaultChild?: unknown } }) =>
      bundleOf(fn).code.includes('require("@aws-sdk/client-apigatewaymanagementapi")');
    // `$disconnect` sends the leaves of presence routes (docs/runtime.md "Room presence"), which
    // the example leaves out of its bundles (`bundleFeatures`).
    expect([realtime.connectHandler, realtime.disconnectHandler].map(loadsManagementApi)).toEqual([false, false]);
    expect([realtime.messageHandler, realtime.rolloverHandler!].map(loadsManagementApi)).toEqual([true, true]);
    // Without lifecycle hooks no function carries the store's reporting removals.
    expect([realtime.messageHandler, realtime.disconnectHandler, realtime.rolloverHandler!].map((fn) => bundleOf(fn).code.includes('onUnsubscribe failed')))
      .toEqual([false, false, false]);
    const size = (fn: { node: { defaultChild?: unknown } }) => bundleOf(fn).code.length;
    expect(size(realtime.connectHandler)).toBeLessThan(size(realtime.messageHandler));
    expect(size(realtime.disconnectHandler)).toBeLessThan(size(realtime.messageHandler));
  });

  test('GIVEN the $default bundle WHEN read THEN it is minified CommonJS with a source map, exports every handler and serves only its own', async () => {
    const { bundleDir, code } = bundleOf(stack.realtime.messageHandler);

    expect(fs.readdirSync(bundleDir).sort()).toEqual(['index.js', 'index.js.map']);
    expect(code).toMatch(/\/\/# sourceMappingURL=index\.js\.map\s*$/);
    // Minified: the code is one long line (the rest are template literals' line breaks and license comments).
    expect(code.split('\n')[0].length).toBeGreaterThan(10_000);
    const handlers = load(code);
    expect(Object.keys(handlers).sort()).toEqual(['connect', 'disconnect', 'handler', 'rollover']);
    expect(await handlers.handler({ requestContext: { connectionId: 'c', routeKey: '$default' }, body: 'PING' })).toEqual({ statusCode: 200, body: 'PONG' });
    await expect(handlers.connect({ requestContext: { connectionId: 'c' } })).rejects.toThrow('connect() is not in this function\'s bundle');
  });

  test('GIVEN bundlePerRole false WHEN bundled THEN the three handlers share one bundle of every role', () => {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'trpc-subscriptions-synth-')) });
    const shared = new Stack(app, 'Shared');
    const realtime = new TrpcSubscriptionApi(shared, 'Realtime', { entry: path.join(__dirname, '..', '..', 'example', 'handlers.ts'), bundlePerRole: false });
    const resources = Template.fromStack(shared).toJSON().Resources;
    const keys = [realtime.connectHandler, realtime.messageHandler, realtime.disconnectHandler, realtime.rolloverHandler!]
      .map((fn) => resources[logicalId(shared, fn)].Properties.Code.S3Key as string);
    expect(new Set(keys).size).toBe(1);
    const code = fs.readFileSync(path.join(app.outdir, `asset.${keys[0].replace(/\.zip$/, '')}`, 'index.js'), 'utf8');
    expect(code).toContain('require("@aws-sdk/client-apigatewaymanagementapi")');
    fs.rmSync(app.outdir, { recursive: true, force: true });
  });
});

describe('cdk-nag AwsSolutions on the example stack', () => {
  test('GIVEN the example stack WHEN checked THEN there are no unacknowledged errors or warnings', () => {
    const stack = exampleStack(appWithoutBundling());

    const report = new AwsSolutionsChecks().validateScope(stack);

    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  test('GIVEN no acknowledgements WHEN checked THEN the findings the construct and the example acknowledge are real', () => {
    const stack = exampleStack(appWithoutBundling());
    // Strip every acknowledgement (`node.metadata` is a copy, so edit the node's own list): the
    // same check must now report the findings they covered.
    for (const construct of stack.node.findAll()) {
      const node = construct.node as unknown as { _metadata?: Array<{ type: string }> };
      node._metadata = node._metadata?.filter((entry) => entry.type !== 'aws:cdk:acknowledged-rules');
    }

    const rules = new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName.replace(/\[.*$/, ''));

    expect(new Set(rules)).toEqual(new Set(['AwsSolutions-APIG4', 'AwsSolutions-IAM4', 'AwsSolutions-IAM5']));
  });
});
