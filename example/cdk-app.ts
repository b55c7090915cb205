/**
 * The example CDK app: `npx cdk synth` (offline, env-agnostic; cdk-nag AwsSolutions runs on
 * every synth and fails it on an unacknowledged error).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExampleStack } from './stack';

const app = new App();
new ExampleStack(app, 'TrpcSubscriptionsExample', {
  description: 'cdk-trpc-subscriptions example: tRPC v11 subscriptions over API Gateway WebSockets',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
