import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { HANDLERS_ENTRY, PRODUCER_ENTRY, appWithoutBundling, logicalId } from './helpers';
import { assetHashSerializer } from './snapshot-serializers';
import { ExampleStack } from '../../example/stack';

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
    stack = exampleStack(app);
    app.synth();
    template = Template.fromStack(stack);
  });

  afterAll(() => {
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  test('GIVEN the example stack WHEN synthesised THEN the template matches the snapshot', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  test('GIVEN three handlers WHEN bundled THEN they share one asset and the producer has its own', () => {
    const resources = template.toJSON().Resources;
    const s3Key = (fn: { node: { defaultChild?: unknown } }) => resources[logicalId(stack as Stack, fn)].Properties.Code.S3Key;
    const { realtime, producer } = stack;

    const handlerKeys = new Set([realtime.connectHandler, realtime.messageHandler, realtime.disconnectHandler].map(s3Key));
    expect(handlerKeys.size).toBe(1);
    expect(s3Key(producer)).not.toBe([...handlerKeys][0]);
    const assetDirs = fs.readdirSync(outdir).filter((name) => name.startsWith('asset.'));
    expect(assetDirs.sort()).toEqual([...new Set([...handlerKeys, s3Key(producer)])]
      .map((key: string) => `asset.${key.replace(/\.zip$/, '')}`).sort());
  });

  test('GIVEN the handlers bundle WHEN read THEN it is minified CommonJS with a source map and all four exports', () => {
    const key: string = template.toJSON().Resources[logicalId(stack as Stack, stack.realtime.messageHandler)].Properties.Code.S3Key;
    const bundleDir = path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
    const bundle = fs.readFileSync(path.join(bundleDir, 'index.js'), 'utf8');

    expect(fs.readdirSync(bundleDir).sort()).toEqual(['index.js', 'index.js.map']);
    expect(bundle).toMatch(/\/\/# sourceMappingURL=index\.js\.map\s*$/);
    expect(bundle.split('\n').length).toBeLessThanOrEqual(3);
    const moduleExports = { exports: {} as Record<string, unknown> };
    new Function('module', 'exports', 'require', bundle)(moduleExports, moduleExports.exports, require);
    expect(Object.keys(moduleExports.exports).sort()).toEqual(['connect', 'disconnect', 'handler', 'rollover', 'worker']);
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
