import * as path from 'path';
import { CfnOutput, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { LoggingFormat, Tracing } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { EXAMPLE_BUNDLE_FEATURES } from './bundle-features';
import { PublisherFunction, TrpcSubscriptionApi } from '../src';

/** Properties of {@link ExampleStack}. */
export interface ExampleStackProps extends StackProps {
  /**
   * The handlers module (exports `connect`, `handler`, `disconnect`).
   * @default path.join(__dirname, 'handlers.ts')
   */
  readonly handlersEntry?: string;
  /**
   * The producer Lambda's entry (exports `handler`).
   * @default path.join(__dirname, 'producer.ts')
   */
  readonly producerEntry?: string;
}

/**
 * The example app's stack: the real-time backend and a producer Lambda allowed to publish.
 */
export class ExampleStack extends Stack {
  /** The WebSocket API, table and handlers. */
  public readonly realtime: TrpcSubscriptionApi;
  /** A backend function that publishes to subscribers. */
  public readonly producer: NodejsFunction;

  constructor(scope: Construct, id: string, props: ExampleStackProps = {}) {
    super(scope, id, props);

    this.realtime = new TrpcSubscriptionApi(this, 'Realtime', {
      entry: props.handlersEntry ?? path.join(__dirname, 'handlers.ts'),
      // The table holds only live connection state: nothing to keep when the example goes.
      removalPolicy: RemovalPolicy.DESTROY,
      throttle: { rateLimit: 100, burstLimit: 200 },
      // The operations props the README recommends ("Operating it").
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      alarms: true,
      dashboard: true,
      // The example declares no presence route, no lifecycle hooks and no history: each function leaves them out.
      bundleFeatures: EXAMPLE_BUNDLE_FEATURES,
    });

    // The handlers' defaults (Node.js 24, ARM64, minified, SDK external) and grantPublish().
    this.producer = new PublisherFunction(this, 'Producer', {
      entry: props.producerEntry ?? path.join(__dirname, 'producer.ts'),
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

    new CfnOutput(this, 'WebSocketUrl', { value: this.realtime.url, description: 'Clients connect here (createWSClient)' });
    new CfnOutput(this, 'CallbackUrl', { value: this.realtime.callbackUrl, description: 'Management API endpoint' });
    new CfnOutput(this, 'TableName', { value: this.realtime.table.tableName });
    new CfnOutput(this, 'ProducerName', { value: this.producer.functionName });
  }
}
