import * as path from 'path';
import { CfnOutput, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { PublisherFunction, TrpcSubscriptionApi, type TrpcSubscriptionRegionPeer } from '../../src';

/** Properties of {@link RegionalStack}. */
export interface RegionalStackProps extends StackProps {
  /** Name of the global table, the same in every Region. */
  readonly tableName: string;
  /**
   * The other Regions to replicate the table to: set on the primary stack only.
   * @default - this stack uses its Region's replica
   */
  readonly replicaRegions?: string[];
  /**
   * The other Regions' APIs (known after a first deployment).
   * @default - none yet
   */
  readonly peers?: TrpcSubscriptionRegionPeer[];
  /**
   * The handlers module.
   * @default - the example's `handlers.ts`
   */
  readonly handlersEntry?: string;
  /**
   * The producer Lambda's entry.
   * @default - the example's `producer.ts`
   */
  readonly producerEntry?: string;
}

/**
 * One Region of the multi-region example: its own WebSocket API, stage and handlers, a producer
 * that publishes from this Region, and the global table (created by the primary, whose
 * `replicaRegions` name the others; the other stacks use their replica).
 */
export class RegionalStack extends Stack {
  public readonly realtime: TrpcSubscriptionApi;
  public readonly producer: PublisherFunction;

  constructor(scope: Construct, id: string, props: RegionalStackProps) {
    super(scope, id, props);
    this.realtime = new TrpcSubscriptionApi(this, 'Realtime', {
      entry: props.handlersEntry ?? path.join(__dirname, '..', 'handlers.ts'),
      removalPolicy: RemovalPolicy.DESTROY,
      throttle: { rateLimit: 100, burstLimit: 200 },
      multiRegion: { tableName: props.tableName, replicaRegions: props.replicaRegions, peers: props.peers },
    });
    // The handlers' defaults (the newest Node.js runtime, ARM64, minified, SDK external) and
    // grantPublish, which also sets TRPC_SUBSCRIPTIONS_REGION(_ENDPOINTS) and grants
    // ManageConnections on the peers' stages.
    this.producer = new PublisherFunction(this, 'Producer', {
      entry: props.producerEntry ?? path.join(__dirname, '..', 'producer.ts'),
      handler: 'handler',
      api: this.realtime,
    });

    Validations.of(this.realtime.connectRoute).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'The example authenticates in the router\'s createContext from the client\'s connectionParams.',
    });
    Validations.of(this.producer).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The AWS managed basic execution role only lets the producer write its own CloudWatch logs.',
    });

    new CfnOutput(this, 'WebSocketUrl', { value: this.realtime.url, description: 'Clients of this Region connect here' });
    new CfnOutput(this, 'ApiId', { value: this.realtime.webSocketApi.apiId, description: 'Pass to the other Regions as a peer' });
    new CfnOutput(this, 'ProducerName', { value: this.producer.functionName });
  }
}
