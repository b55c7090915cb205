import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { DEFAULT_BUNDLING, DEFAULT_ENVIRONMENT, defaultNodejsRuntime, noteUntestedDefaultRuntime } from './function-defaults';
import type { TrpcSubscriptionApi } from './trpc-subscription-api';

/** Properties of a {@link PublisherFunction}: a `NodejsFunction`'s, plus the API it publishes to. */
export interface PublisherFunctionProps extends NodejsFunctionProps {
  /** The API whose subscribers the function publishes to (`api.grantPublish(this)`). */
  readonly api: TrpcSubscriptionApi;
}

/**
 * A `NodejsFunction` that publishes to a {@link TrpcSubscriptionApi}'s subscribers, with the
 * handlers' defaults: the newest Node.js runtime aws-cdk-lib knows (at least 24) on ARM64,
 * minified with an external source map, AWS SDK v3 external (the runtime ships it),
 * `NODE_ENV=production`, and `api.grantPublish(this)` (IAM and
 * the `TRPC_SUBSCRIPTIONS_*` environment). Every `NodejsFunction` prop still applies; `bundling`
 * and `environment` are merged over the defaults.
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
      environment: { ...DEFAULT_ENVIRONMENT, ...functionProps.environment },
      bundling: { ...DEFAULT_BUNDLING, ...functionProps.bundling },
    });
    if (!functionProps.runtime) noteUntestedDefaultRuntime(this, runtime);
    api.grantPublish(this);
  }
}
