/**
 * The multi-region example: one stack per Region on one DynamoDB global table
 * (docs/multi-region.md). Synthesizes offline: `npx cdk synth --app "npx tsx example/multi-region/cdk-app.ts"`.
 *
 * API ids exist only after a deployment, so deploy twice: first without peers, then with the
 * `ApiId` outputs as context, e.g. `-c apiIds='{"eu-west-1":"abcdef1234","us-east-1":"0123456789"}'`.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { multiRegionApp } from './regions';

const app = new App();
multiRegionApp(app, parseApiIds(app.node.tryGetContext('apiIds')));
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();

function parseApiIds(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`context apiIds must map Regions to API ids, got: ${String(value)}`);
  return parsed as Record<string, string>;
}
