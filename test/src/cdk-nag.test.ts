import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AwsSolutionsChecks as AwsSolutionsChecksV2 } from 'cdk-nag-v2';
import { HANDLERS_ENTRY, PRODUCER_ENTRY } from './helpers';
import { PublisherFunction, TrpcSubscriptionApi } from '../../src';

/**
 * The construct with everything that adds findings (a customer managed key, a publisher) and
 * nothing acknowledged by the app itself. What is left is the app's to decide: `$connect` has no
 * authorizer, and the producer's default role uses the AWS managed basic execution policy.
 */
function constructStack(): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Stack', { env: { region: 'eu-west-1' } });
  const realtime = new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, encryptionKey: new Key(stack, 'Key', { enableKeyRotation: true }) });
  new PublisherFunction(stack, 'Producer', { entry: PRODUCER_ENTRY, api: realtime });
  return stack;
}

const APP_DECISIONS = [
  'AwsSolutions-APIG4 at /Stack/Realtime/WebSocketApi/$connect-Route/Resource',
  'AwsSolutions-IAM4 at /Stack/Producer/ServiceRole/Resource',
];

describe('cdk-nag AwsSolutions on the construct', () => {
  test('GIVEN cdk-nag 3 (Validations plugin) WHEN checked THEN only the app\'s own decisions are reported', () => {
    const stack = constructStack();

    const report = new AwsSolutionsChecks().validateScope(stack);

    const findings = report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName.replace(/\[.*$/, '')} at /${r.constructPath}`));
    expect([...new Set(findings)].sort()).toEqual(APP_DECISIONS);
  });

  test('GIVEN cdk-nag 2 (Aspects) WHEN checked THEN only the app\'s own decisions are reported, as errors or warnings', () => {
    const stack = constructStack();
    Aspects.of(stack).add(new AwsSolutionsChecksV2());

    const annotations = Annotations.fromStack(stack);
    const findings = [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-')),
    ].map((m) => `${String(m.entry.data).match(/AwsSolutions-[A-Za-z0-9]+/)![0]} at ${m.id}`);
    expect([...new Set(findings)].sort()).toEqual(APP_DECISIONS);
  });

  test('GIVEN cdk-nag 2 WHEN checked THEN the construct\'s suppressions are in the template as cdk_nag metadata', () => {
    const stack = constructStack();
    Aspects.of(stack).add(new AwsSolutionsChecksV2());

    type Resource = { Type: string; Metadata?: { cdk_nag?: { rules_to_suppress?: Array<{ id: string }> } } };
    const resources = Object.values(Template.fromStack(stack).toJSON().Resources) as Resource[];
    const suppressedOn = (type: string) => resources.filter((r) => r.Type === type)
      .flatMap((r) => r.Metadata?.cdk_nag?.rules_to_suppress?.map((rule) => rule.id) ?? []);
    expect(new Set(suppressedOn('AWS::ApiGatewayV2::Route'))).toEqual(new Set(['AwsSolutions-APIG4']));
    expect(new Set(suppressedOn('AWS::IAM::Policy'))).toEqual(new Set(['AwsSolutions-IAM5']));
  });
});
