import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Runtime, RuntimeFamily } from 'aws-cdk-lib/aws-lambda';
import * as nagV3 from 'cdk-nag';
import * as nagV2 from 'cdk-nag-v2';
import { HANDLERS_ENTRY, PRODUCER_ENTRY, appWithoutBundling } from './helpers';
import { NAG_MODES, expectedFindings, findingsV2, findingsV3, modeStack } from './nag-modes';
import { TrpcSubscriptionApi } from '../../src';

const ENTRIES = { handlers: HANDLERS_ENTRY, producer: PRODUCER_ENTRY };

function stripAcknowledgements(stack: Stack): void {
  // `node.metadata` is a copy, so edit the node's own list.
  for (const construct of stack.node.findAll()) {
    const node = construct.node as unknown as { _metadata?: Array<{ type: string }> };
    node._metadata = node._metadata?.filter((entry) => entry.type !== 'aws:cdk:acknowledged-rules');
  }
}

describe.each(Object.entries(NAG_MODES))('cdk-nag AwsSolutions and Serverless, mode: %s', (mode, { recommended }) => {
  test('GIVEN cdk-nag 3 WHEN checked THEN only the app\'s own decisions are reported', () => {
    const stack = modeStack(mode, ENTRIES);

    expect(findingsV3(stack, nagV3)).toEqual(expectedFindings(stack, recommended));
  });

  test('GIVEN cdk-nag 2 (Aspects) WHEN synthesised THEN only the app\'s own decisions are reported', () => {
    const stack = modeStack(mode, ENTRIES);

    expect(findingsV2(stack, nagV2)).toEqual(expectedFindings(stack, recommended));
  });
});

describe('aws-cdk-lib\'s CloudFormation validation (off elsewhere in the tests: test/setup/global-setup.ts)', () => {
  /** The findings of aws-cdk-lib's CloudFormation validation of `stack`'s app (what `cdk synth` reports). */
  function validationFindings(stack: Stack): string[] {
    const saved = process.env.CDK_VALIDATION;
    delete process.env.CDK_VALIDATION;
    try {
      const assembly = (stack.node.root as App).synth();
      const report = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as {
        pluginReports: Array<{ pluginName: string; violations: Array<{ ruleName: string; description: string }> }>;
      };
      return report.pluginReports.flatMap((r) => r.violations.map((v) => `${r.pluginName} ${v.ruleName}: ${v.description.slice(0, 60)}`));
    } finally {
      process.env.CDK_VALIDATION = saved;
    }
  }

  test.each(Object.keys(NAG_MODES))('GIVEN mode %s WHEN synthesised THEN CloudFormation\'s schemas find nothing', (mode) => {
    expect(validationFindings(modeStack(mode, ENTRIES))).toEqual([]);
  });

  test('GIVEN a runtime CloudFormation does not know WHEN synthesised THEN the validation reports it (it runs here)', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, runtime: new Runtime('nodejs99.x', RuntimeFamily.NODEJS), rollover: { enabled: false } });

    expect(validationFindings(stack)).toEqual([expect.stringMatching(/^CloudFormation Validate W3030: Runtime: 'nodejs99\.x' is not one of/)]);
  });
});

describe('cdk-nag findings the construct settles', () => {
  test('GIVEN a runtime older than the newest aws-cdk-lib knows WHEN checked THEN AwsSolutions-L1 and Serverless-LambdaLatestVersion are reported (what the default avoids)', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, runtime: Runtime.NODEJS_22_X });

    const rules = findingsV3(stack, nagV3).map((finding) => finding.split(' at ')[0]);

    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-L1', 'Serverless-LambdaLatestVersion']));
  });

  test('GIVEN the recommended props in a VPC WHEN checked with both packs THEN there are no findings', async () => {
    const { Vpc } = await import('aws-cdk-lib/aws-ec2');
    const { LoggingFormat, Tracing } = await import('aws-cdk-lib/aws-lambda');
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const vpc = new Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    Validations.of(vpc).acknowledge({ id: 'AwsSolutions-VPC7', reason: 'A test VPC without flow logs.' });
    const realtime = new TrpcSubscriptionApi(stack, 'Realtime', {
      entry: HANDLERS_ENTRY,
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      throttle: { rateLimit: 100, burstLimit: 200 },
      vpc,
      queuedFanOut: {},
    });
    Validations.of(realtime.connectRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: 'Authenticated in createContext in this test.' });

    expect(findingsV3(stack, nagV3)).toEqual([]);
  });

  test('GIVEN no acknowledgements WHEN checked THEN the findings the construct acknowledges are real', async () => {
    const { Vpc } = await import('aws-cdk-lib/aws-ec2');
    const { LoggingFormat, Tracing } = await import('aws-cdk-lib/aws-lambda');
    const stack = new Stack(appWithoutBundling(), 'Stack');
    new TrpcSubscriptionApi(stack, 'Realtime', {
      entry: HANDLERS_ENTRY, tracing: Tracing.ACTIVE, loggingFormat: LoggingFormat.JSON, vpc: new Vpc(stack, 'Vpc', { maxAzs: 2 }), queuedFanOut: {},
    });
    stripAcknowledgements(stack);

    const rules = [new nagV3.ServerlessChecks(), new nagV3.AwsSolutionsChecks()]
      .flatMap((pack) => pack.validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)));

    expect(rules).toEqual(expect.arrayContaining([
      'Serverless-LambdaDLQ at Stack/Realtime/MessageHandler/Resource',
      'Serverless-LambdaDLQ at Stack/Realtime/FanOut/Worker/Resource',
      'Serverless-SQSRedrivePolicy at Stack/Realtime/FanOut/DeadLetterQueue/Resource',
      expect.stringMatching(/^Serverless-LambdaEventSourceMappingDestination at Stack\/Realtime\/FanOut\/Worker\/SqsEventSource/),
      'AwsSolutions-IAM5[Resource::*] at Stack/Realtime/HandlerRole/DefaultPolicy/Resource',
      'AwsSolutions-IAM5[Resource::*] at Stack/Realtime/FanOut/WorkerRole/DefaultPolicy/Resource',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole] at Stack/Realtime/HandlerRole/Resource',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole] at Stack/Realtime/FanOut/WorkerRole/Resource',
    ]));
  });
});
