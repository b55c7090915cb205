/**
 * The stacks whose grants the IAM simulation checks: a `TrpcSubscriptionApi` with the queued
 * fan-out and the rollover, a function given `grantPublish`, a `PublisherFunction` and a function
 * given `grantControl`; and which code paths each role runs.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { ACCOUNT, Deployment } from './deployment';
import type { RequestTargets } from './iam-requests';
import type { CodePath } from './scenarios';
import { PublisherFunction, TrpcSubscriptionApi, type TrpcSubscriptionApiProps } from '../../../src';
import { HANDLERS_ENTRY, PRODUCER_ENTRY } from '../../src/helpers';

/** A role of the stack and the code it runs. */
export interface StackRole {
  /** What the role belongs to, for messages, e.g. `grantControl grantee`. */
  readonly name: string;
  readonly roleLogicalId: string;
  /** The code paths whose recorded requests this role sends. */
  readonly codePaths: readonly CodePath[];
  /** Runs a publisher's code (`grantPublish` and what includes it). */
  readonly publishes: boolean;
  /** Holds `grantControl`. */
  readonly controls: boolean;
}

/** A synthesized stack with its roles. */
export interface GrantStack {
  readonly deployment: Deployment;
  readonly realtime: TrpcSubscriptionApi;
  readonly roles: readonly StackRole[];
  /** The id the deployment gives the stack's WebSocket API. */
  readonly apiId: string;
  /** The ARN of the fan-out queue. */
  readonly queueArn: string;
}

/** Options of {@link grantStack}. */
export interface GrantStackOptions {
  /** The name of the DynamoDB Local table the scenarios ran on (the table's physical name). */
  readonly tableName: string;
  readonly props?: Partial<TrpcSubscriptionApiProps>;
  /** Props made in the stack (e.g. a KMS key). @default - none */
  readonly withStack?: (stack: Stack) => Partial<TrpcSubscriptionApiProps>;
  /** @default - a Region-agnostic stack */
  readonly region?: string;
}

/** Synthesizes the stack (without bundling) and resolves it as deployed. */
export function grantStack(options: GrantStackOptions): GrantStack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Iam', options.region ? { env: { region: options.region, account: ACCOUNT } } : {});
  const realtime = new TrpcSubscriptionApi(stack, 'Realtime', {
    entry: HANDLERS_ENTRY, queuedFanOut: {}, ...options.props, ...options.withStack?.(stack),
  });
  const inline = { runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => undefined') };
  const producer = new LambdaFunction(stack, 'Producer', inline);
  realtime.grantPublish(producer);
  const publisherFunction = new PublisherFunction(stack, 'PublisherFunction', { entry: PRODUCER_ENTRY, api: realtime });
  const moderator = new LambdaFunction(stack, 'Moderator', inline);
  realtime.grantControl(moderator);

  const tableLogicalId = stack.getLogicalId(realtime.table.node.defaultChild as never);
  const names = realtime.table.node.defaultChild ? { [tableLogicalId]: options.tableName } : {};
  const deployment = new Deployment(stack, names);
  const role = (name: string, fn: LambdaFunction, codePaths: CodePath[]): StackRole => ({
    name,
    roleLogicalId: deployment.functionRole(deployment.logicalId(fn)),
    codePaths,
    publishes: codePaths.includes('publisher'),
    controls: codePaths.includes('control'),
  });
  const roles = [
    role('$connect handler', realtime.connectHandler, ['handler']),
    role('$default handler', realtime.messageHandler, ['handler']),
    role('$disconnect handler', realtime.disconnectHandler, ['handler']),
    role('rollover', realtime.rolloverHandler!, ['rollover']),
    role('fan-out worker', realtime.fanOut!.worker, ['worker']),
    role('grantPublish grantee', producer, ['publisher']),
    role('PublisherFunction', publisherFunction, ['publisher']),
    role('grantControl grantee', moderator, ['publisher', 'control']),
  ];
  const queueLogicalId = deployment.logicalId(realtime.fanOut!.queue);
  return {
    deployment,
    realtime,
    roles,
    apiId: deployment.physicalName(deployment.logicalId(realtime.webSocketApi)),
    queueArn: deployment.resolve({ 'Fn::GetAtt': [queueLogicalId, 'Arn'] }),
  };
}

/** Where the scenarios' requests go in a deployed stack: its APIs by endpoint, its queue. */
export function targetsOf(
  grants: GrantStack, apis: ReadonlyMap<string, { readonly region: string; readonly apiId: string }>, queueUrl?: string,
): RequestTargets {
  return {
    account: grants.deployment.account,
    region: grants.deployment.region,
    apiAt: (origin) => {
      const api = apis.get(origin);
      if (!api) throw new Error(`a Management API request to ${origin}, which is no API of the scenarios`);
      return api;
    },
    queueArn: (url) => {
      if (url !== queueUrl) throw new Error(`a send to ${url}, which is not the fan-out queue`);
      return grants.queueArn;
    },
  };
}
