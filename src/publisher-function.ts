import { Duration } from 'aws-cdk-lib';
import { Architecture, type Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { DEFAULT_BUNDLING, DEFAULT_ENVIRONMENT, defaultNodejsRuntime, noteUntestedDefaultRuntime } from './function-defaults';
import type { TrpcSubscriptionApi } from './trpc-subscription-api';

/**
 * Memory of a {@link PublisherFunction} in MB: the handlers' default. The fan-out is CPU-bound
 * (about 130 µs per PostToConnection at a full vCPU, docs/performance.md): 512 MB delivers about
 * 2,000 messages a second, Lambda's own 128 MB a quarter of that.
 */
const DEFAULT_PUBLISHER_MEMORY_MB = 512;
/**
 * Timeout of a {@link PublisherFunction}. Lambda's own 3 s would stop a fan-out part way: a single
 * Management API call may take up to its 6 s deadline, and a minute at 512 MB reaches more than
 * 100,000 subscribers.
 */
const DEFAULT_PUBLISHER_TIMEOUT = Duration.minutes(1);

/** Properties of a {@link PublisherFunction}: a `NodejsFunction`'s, plus the API it publishes to. */
export interface PublisherFunctionProps extends NodejsFunctionProps {
  /** The API whose subscribers the function publishes to (`api.grantPublish(this)`). */
  readonly api: TrpcSubscriptionApi;
  /**
   * Lambda runtime.
   * @default Runtime.NODEJS_24_X (the Active LTS release, as the handlers)
   */
  readonly runtime?: Runtime;
  /**
   * Instruction set.
   * @default Architecture.ARM_64 (as the handlers)
   */
  readonly architecture?: Architecture;
  /**
   * Memory in MB. The fan-out is CPU-bound, and Lambda gives CPU in proportion to memory.
   * @default 512 (as the handlers; about 2,000 messages a second)
   */
  readonly memorySize?: number;
  /**
   * Timeout. Unlike the handlers it is not bound by API Gateway's 29 s.
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
}

/**
 * A `NodejsFunction` that publishes to a {@link TrpcSubscriptionApi}'s subscribers: the newest
 * Node.js runtime aws-cdk-lib knows (at least 24) on ARM64, 512 MB and a 1-minute timeout (not
 * Lambda's 128 MB and 3 s, which would cut a fan-out short), minified with an external source map,
 * AWS SDK v3 external (the runtime ships it), `NODE_ENV=production`, and `api.grantPublish(this)`
 * (IAM and the `TRPC_SUBSCRIPTIONS_*` environment). Every `NodejsFunction` prop still applies;
 * `bundling` and `environment` are merged over the defaults.
 *
 * @example
 * new PublisherFunction(stack, 'Producer', { entry: path.join(__dirname, 'producer.ts'), api: realtime });
 */
export class PublisherFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: PublisherFunctionProps) {
    const { api, ...functionProps } = props;
    const runtime = functionProps.runtime ?? defaultNodejsRuntime();
    super(scope, id, {
      ...functionProps,
      runtime,
      architecture: functionProps.architecture ?? Architecture.ARM_64,
      memorySize: functionProps.memorySize ?? DEFAULT_PUBLISHER_MEMORY_MB,
      timeout: functionProps.timeout ?? DEFAULT_PUBLISHER_TIMEOUT,
      environment: { ...DEFAULT_ENVIRONMENT, ...functionProps.environment },
      bundling: { ...DEFAULT_BUNDLING, ...functionProps.bundling },
    });
    if (!functionProps.runtime) noteUntestedDefaultRuntime(this, runtime);
    api.grantPublish(this);
  }
}
