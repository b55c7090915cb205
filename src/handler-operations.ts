import type { NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { TrpcSubscriptionOperationsProps, TrpcSubscriptionReservedConcurrency } from './operations-props';

/** The operations props that apply to one handler function, as `NodejsFunction` props. */
export function handlerOperationOptions(
  props: TrpcSubscriptionOperationsProps,
  handler: keyof TrpcSubscriptionReservedConcurrency,
): Partial<NodejsFunctionProps> {
  return {
    tracing: props.tracing,
    loggingFormat: props.loggingFormat,
    applicationLogLevelV2: props.applicationLogLevel,
    systemLogLevelV2: props.systemLogLevel,
    reservedConcurrentExecutions: props.reservedConcurrency?.[handler],
    vpc: props.vpc,
    vpcSubnets: props.vpcSubnets,
    securityGroups: props.securityGroups,
  };
}
