import { Stack, Validations } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LoggingFormat, Tracing } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, ServerlessChecks, type NagPack } from 'cdk-nag';
import { HANDLERS_ENTRY, appWithoutBundling } from './helpers';
import { TrpcSubscriptionApi, type TrpcSubscriptionApiProps } from '../../src';

/** The props the README recommends for production ("Operating it"), besides an authorizer. */
const RECOMMENDED: Partial<TrpcSubscriptionApiProps> = {
  tracing: Tracing.ACTIVE,
  loggingFormat: LoggingFormat.JSON,
  throttle: { rateLimit: 100, burstLimit: 200 },
  alarms: true,
  dashboard: true,
};

function stackWith(props: Partial<TrpcSubscriptionApiProps>): Stack {
  const stack = new Stack(appWithoutBundling(), 'Stack');
  const realtime = new TrpcSubscriptionApi(stack, 'Realtime', {
    entry: HANDLERS_ENTRY,
    logEncryptionKey: new Key(stack, 'LogKey', { enableKeyRotation: true }),
    ...props,
  });
  // Who may connect is the app's decision (an authorizer, or createContext as here).
  Validations.of(realtime.connectRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: 'Authenticated in createContext in this test.' });
  return stack;
}

function findings(pack: NagPack, stack: Stack): string[] {
  return pack.validateScope(stack).violations
    .map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
}

function stripAcknowledgements(stack: Stack): void {
  // `node.metadata` is a copy, so edit the node's own list.
  for (const construct of stack.node.findAll()) {
    const node = construct.node as unknown as { _metadata?: Array<{ type: string }> };
    node._metadata = node._metadata?.filter((entry) => entry.type !== 'aws:cdk:acknowledged-rules');
  }
}

describe('cdk-nag with the recommended props', () => {
  test('GIVEN the recommended props WHEN checked with AwsSolutions THEN there are no findings', () => {
    expect(findings(new AwsSolutionsChecks(), stackWith(RECOMMENDED))).toEqual([]);
  });

  test('GIVEN the recommended props WHEN checked with Serverless THEN there are no findings', () => {
    expect(findings(new ServerlessChecks(), stackWith(RECOMMENDED))).toEqual([]);
  });

  test('GIVEN the recommended props in a VPC WHEN checked with both packs THEN there are no findings', async () => {
    const { Vpc } = await import('aws-cdk-lib/aws-ec2');
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const vpc = new Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    Validations.of(vpc).acknowledge({ id: 'AwsSolutions-VPC7', reason: 'A test VPC without flow logs.' });
    const realtime = new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, ...RECOMMENDED, vpc });
    Validations.of(realtime.connectRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: 'Authenticated in createContext in this test.' });

    expect([...findings(new AwsSolutionsChecks(), stack), ...findings(new ServerlessChecks(), stack)]).toEqual([]);
  });

  test('GIVEN no acknowledgements WHEN checked THEN the findings the construct acknowledges are real', async () => {
    const { Vpc } = await import('aws-cdk-lib/aws-ec2');
    const stack = new Stack(appWithoutBundling(), 'Stack');
    new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, ...RECOMMENDED, vpc: new Vpc(stack, 'Vpc', { maxAzs: 2 }) });
    stripAcknowledgements(stack);

    const rules = [new ServerlessChecks(), new AwsSolutionsChecks()]
      .flatMap((pack) => pack.validateScope(stack).violations.map((v) => v.ruleName));

    expect(rules).toEqual(expect.arrayContaining([
      'Serverless-LambdaDLQ',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    ]));
  });

  test('GIVEN the defaults WHEN checked with Serverless THEN untraced handlers and the default throttling are reported', () => {
    const rules = new Set(new ServerlessChecks().validateScope(stackWith({})).violations.map((v) => v.ruleName));

    expect(rules).toEqual(new Set(['Serverless-LambdaTracing', 'Serverless-APIGWDefaultThrottling']));
  });
});
