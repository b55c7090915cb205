import { startDynamoDBLocal, type DynamoDBLocal } from '../../lambda/local/dynamodb-local';

declare global {
  // eslint-disable-next-line no-var
  var __DYNAMODB_LOCAL__: DynamoDBLocal | undefined;
}

/**
 * Starts one DynamoDB Local (in memory) for the whole test run. Workers inherit its endpoint
 * through `DYNAMODB_ENDPOINT`; each test file creates its own uniquely named table.
 */
export default async function globalSetup(): Promise<void> {
  process.env.AWS_REGION = 'local';
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  // Nothing in the tests may reach a real AWS endpoint or the instance metadata service.
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  // The SDK warns once per process that its 2027 releases need Node 22 (Lambdas run 22/24);
  // in tests it only buries the output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  // The runtime prints EMF metric lines to stdout by default; tests that check them turn them on
  // with the `metrics` option (which wins over the environment).
  process.env.TRPC_SUBSCRIPTIONS_METRICS = 'off';
  // aws-cdk-lib 2.278 validates every synthesized template against CloudFormation's schemas, which
  // makes each synth several times slower; test/src/nag.test.ts runs it on every mode instead.
  process.env.CDK_VALIDATION = 'false';
  const dynamodb = await startDynamoDBLocal();
  globalThis.__DYNAMODB_LOCAL__ = dynamodb;
  process.env.DYNAMODB_ENDPOINT = dynamodb.endpoint;
}
