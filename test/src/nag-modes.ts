/**
 * cdk-nag on everything the package creates, in every mode, with both majors of cdk-nag: the
 * findings left are exactly the app's own decisions. Used by test/src/nag.test.ts (the
 * repository's aws-cdk-lib) and by `npm run check:package`, which copies this file into a fresh
 * app beside a `src/index.ts` that re-exports the packed package, and runs it at the lowest and
 * the newest aws-cdk-lib (scripts/nag-modes-run.ts). So it imports nothing from the repository
 * but `../../src`, and takes the cdk-nag modules as arguments (cdk-nag 3 needs aws-cdk-lib 2.257).
 */
import { App, Aspects, Stack, type IAspect } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LoggingFormat, Tracing } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { PublisherFunction, TrpcSubscriptionApi, type TrpcSubscriptionApiProps } from '../../src';

/** The two packs the construct is checked with, from one cdk-nag major. */
export interface NagPackClasses {
  readonly AwsSolutionsChecks: new () => object;
  readonly ServerlessChecks: new () => object;
}

/** Where the stand-in entries are (a handlers module with every export, and a producer). */
export interface NagEntries {
  readonly handlers: string;
  readonly producer: string;
}

/** The props the README recommends for production ("Operating it"), besides an authorizer. */
function recommended(stack: Stack): Partial<TrpcSubscriptionApiProps> {
  return {
    tracing: Tracing.ACTIVE,
    loggingFormat: LoggingFormat.JSON,
    throttle: { rateLimit: 100, burstLimit: 200 },
    alarms: true,
    dashboard: true,
    logEncryptionKey: new Key(stack, 'LogKey', { enableKeyRotation: true }),
  };
}

/**
 * The modes: the construct's props in each (built in the stack, which has `env.region`), and
 * whether they include the recommended production props.
 */
export const NAG_MODES: Record<string, { readonly recommended: boolean; readonly props: (stack: Stack) => Partial<TrpcSubscriptionApiProps> }> = {
  'plain': { recommended: false, props: () => ({}) },
  'plain, queuedFanOut': { recommended: false, props: () => ({ queuedFanOut: {} }) },
  'plain, rollover off': { recommended: false, props: () => ({ rollover: { enabled: false } }) },
  'recommended': { recommended: true, props: recommended },
  'recommended, queuedFanOut': { recommended: true, props: (stack) => ({ ...recommended(stack), queuedFanOut: {} }) },
  'recommended, multiRegion': {
    recommended: true,
    props: (stack) => ({
      ...recommended(stack),
      multiRegion: { tableName: 'subscriptions', replicaRegions: ['us-east-1'], peers: [{ region: 'us-east-1', apiId: 'abcde12345' }] },
    }),
  },
  'recommended, queuedFanOut, multiRegion': {
    recommended: true,
    props: (stack) => ({ ...recommended(stack), queuedFanOut: {}, multiRegion: { tableName: 'subscriptions', peers: [{ region: 'us-east-1', apiId: 'abcde12345' }] } }),
  },
  'recommended, rollover off': { recommended: true, props: (stack) => ({ ...recommended(stack), rollover: { enabled: false } }) },
  'recommended, table key': {
    recommended: true,
    props: (stack) => ({ ...recommended(stack), encryptionKey: new Key(stack, 'TableKey', { enableKeyRotation: true }) }),
  },
};

/** A stack with the construct in `mode` and a `PublisherFunction`, nothing acknowledged by the app. */
export function modeStack(mode: string, entries: NagEntries): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Stack', { env: { region: 'eu-west-1' } });
  const realtime = new TrpcSubscriptionApi(stack, 'Realtime', { entry: entries.handlers, ...NAG_MODES[mode].props(stack) });
  new PublisherFunction(stack, 'Producer', { entry: entries.producer, api: realtime });
  return stack;
}

/**
 * What is left for the app in every mode, as `rule at path`: an authorizer on `$connect`, and the
 * `PublisherFunction`'s own settings (its role with the basic execution policy, tracing,
 * dead-letter queue: all `NodejsFunction` props the app chooses; its memory and timeout have
 * defaults of their own, so cdk-nag's default-memory and default-timeout rules stay quiet). Without the
 * recommended props also stage throttling and tracing of each function the construct creates.
 */
export function expectedFindings(stack: Stack, recommendedProps: boolean): string[] {
  const appDecisions = [
    'AwsSolutions-APIG4 at Stack/Realtime/WebSocketApi/$connect-Route/Resource',
    'AwsSolutions-IAM4 at Stack/Producer/ServiceRole/Resource',
    'Serverless-LambdaDLQ at Stack/Producer/Resource',
    'Serverless-LambdaTracing at Stack/Producer/Resource',
  ];
  if (!recommendedProps) {
    appDecisions.push('Serverless-APIGWDefaultThrottling at Stack/Realtime/Stage/Resource');
    const functions = stack.node.findAll().filter((c) => (c as { cfnResourceType?: string }).cfnResourceType === 'AWS::Lambda::Function');
    for (const fn of functions.filter((f) => f.node.path.startsWith('Stack/Realtime/'))) {
      appDecisions.push(`Serverless-LambdaTracing at ${fn.node.path}`);
    }
  }
  return [...new Set(appDecisions)].sort();
}

/** cdk-nag 3 (a policy validation plugin): `validateScope`, which reads `Validations` acknowledgements. */
export function findingsV3(stack: Stack, packs: NagPackClasses): string[] {
  type Violation = { ruleName: string; violatingResources: Array<{ constructPath?: string }> };
  type Pack = { validateScope(scope: IConstruct): { violations: Violation[] } };
  const findings = [packs.AwsSolutionsChecks, packs.ServerlessChecks].flatMap((Pack) => (new Pack() as Pack).validateScope(stack).violations
    .flatMap((v) => v.violatingResources.map((r) => `${v.ruleName.replace(/\[.*$/, '')} at ${r.constructPath}`)));
  return [...new Set(findings)].sort();
}

/**
 * cdk-nag 2 (Aspects): the packs run at synth and report errors and warnings as annotations,
 * reading the `cdk_nag` suppressions in each resource's metadata.
 */
export function findingsV2(stack: Stack, packs: NagPackClasses): string[] {
  for (const Pack of [packs.AwsSolutionsChecks, packs.ServerlessChecks]) Aspects.of(stack).add(new Pack() as IAspect);
  const artifact = (stack.node.root as App).synth().getStackArtifact(stack.artifactId);
  const findings = artifact.messages
    .filter((m) => m.level === 'error' || m.level === 'warning')
    .flatMap((m) => {
      const rule = /^((?:AwsSolutions|Serverless)-[A-Za-z0-9]+)/.exec(String(m.entry.data))?.[1];
      return rule ? [`${rule} at ${m.id.replace(/^\//, '')}`] : [];
    });
  return [...new Set(findings)].sort();
}
