import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { HANDLERS_ENTRY, PRODUCER_ENTRY, appWithoutBundling, logicalId } from './helpers';
import { ENDPOINT_ENV, TABLE_NAME_ENV } from '../../lambda/constants';
import { PublisherFunction, TrpcSubscriptionApi } from '../../src';
import { defaultNodejsRuntime } from '../../src/function-defaults';

function producerStack(props: Partial<ConstructorParameters<typeof PublisherFunction>[2]> = {}) {
  const stack = new Stack(appWithoutBundling(), 'Stack');
  const realtime = new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY });
  const producer = new PublisherFunction(stack, 'Producer', { entry: PRODUCER_ENTRY, api: realtime, ...props });
  return { stack, realtime, producer, template: Template.fromStack(stack) };
}

describe('PublisherFunction', () => {
  test('GIVEN only entry and api WHEN synthesised THEN the handlers\' runtime (the newest Node.js) on ARM64, 512 MB, 1 minute, with the publish environment', () => {
    const { stack, realtime, producer, template } = producerStack();

    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Handler: 'index.handler',
      Runtime: 'nodejs26.x',
      Architectures: ['arm64'],
      // Not Lambda's 128 MB and 3 s, which would cut a fan-out short.
      MemorySize: 512,
      Timeout: 60,
      Environment: {
        Variables: {
          NODE_ENV: 'production',
          NODE_OPTIONS: '--enable-source-maps',
          [TABLE_NAME_ENV]: { Ref: logicalId(stack, realtime.table as never) },
          [ENDPOINT_ENV]: Match.anyValue(),
        },
      },
    });
    expect(producer.runtime).toBe(defaultNodejsRuntime());
  });

  test('GIVEN the api WHEN synthesised THEN the function may post to connections of that stage', () => {
    const { template } = producerStack();

    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ProducerServiceRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'execute-api:ManageConnections' })]),
      },
    });
  });

  test('GIVEN runtime, memory, timeout and environment WHEN synthesised THEN they apply over the defaults', () => {
    const { template } = producerStack({
      runtime: Runtime.NODEJS_22_X, memorySize: 1024, timeout: Duration.minutes(5), environment: { NODE_ENV: 'staging', EXTRA: '1' },
    });

    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      MemorySize: 1024,
      Timeout: 300,
      Environment: { Variables: Match.objectLike({ NODE_ENV: 'staging', EXTRA: '1', NODE_OPTIONS: '--enable-source-maps' }) },
    });
  });
});
