import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TrpcSubscriptionApi, type TrpcSubscriptionApiProps } from '../../src';

/** The stand-in handlers module (exports connect, handler, disconnect). */
export const HANDLERS_ENTRY = path.join(__dirname, '..', 'fixtures', 'handlers', 'index.ts');

/** The stand-in producer module (exports handler). */
export const PRODUCER_ENTRY = path.join(__dirname, '..', 'fixtures', 'handlers', 'producer.ts');

/** An app whose stacks skip asset bundling (intent tests look at the template only). */
export function appWithoutBundling(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

/** A stack with one `TrpcSubscriptionApi` (id `Realtime`) built from `props` over the fixture entry. */
export function realtimeStack(props: Partial<TrpcSubscriptionApiProps> = {}): {
  stack: Stack;
  realtime: TrpcSubscriptionApi;
  template: () => Template;
} {
  const stack = new Stack(appWithoutBundling(), 'Stack');
  const realtime = new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, ...props });
  return { stack, realtime, template: () => Template.fromStack(stack) };
}

/** The logical id of a construct's CloudFormation resource in its stack. */
export function logicalId(stack: Stack, resource: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(resource.node.defaultChild as never);
}

/** `Fn::Join` of `arn:{partition}:execute-api:{region}:{account}:{apiRef}{suffix}` as synthesised. */
export function executeApiArn(apiLogicalId: string, suffix: string): unknown {
  return {
    'Fn::Join': ['', [
      'arn:', { Ref: 'AWS::Partition' }, ':execute-api:', { Ref: 'AWS::Region' }, ':',
      { Ref: 'AWS::AccountId' }, ':', { Ref: apiLogicalId }, suffix,
    ]],
  };
}
