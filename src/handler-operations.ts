import * as iam from 'aws-cdk-lib/aws-iam';
import { Tracing } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { acknowledgeRule } from './nag-acknowledgements';
import type { TrpcSubscriptionOperationsProps, TrpcSubscriptionReservedConcurrency } from './operations-props';

/**
 * The operations props that apply to every function the construct creates (the handlers, the
 * rollover and the fan-out worker), as `NodejsFunction` props: tracing, Lambda's logging
 * controls and VPC placement.
 */
export function functionOperationOptions(props: TrpcSubscriptionOperationsProps): Partial<NodejsFunctionProps> {
  return {
    tracing: props.tracing,
    loggingFormat: props.loggingFormat,
    applicationLogLevelV2: props.applicationLogLevel,
    systemLogLevelV2: props.systemLogLevel,
    vpc: props.vpc,
    vpcSubnets: props.vpcSubnets,
    securityGroups: props.securityGroups,
  };
}

/** The operations props that apply to one handler function: every function's, plus its reserved concurrency. */
export function handlerOperationOptions(
  props: TrpcSubscriptionOperationsProps,
  handler: keyof TrpcSubscriptionReservedConcurrency,
): Partial<NodejsFunctionProps> {
  return { ...functionOperationOptions(props), reservedConcurrentExecutions: props.reservedConcurrency?.[handler] };
}

/**
 * A new Lambda execution role with the operations props every role the construct creates
 * honours: the `permissionsBoundary`, and with `vpc` the AWS managed policy Lambda needs for the
 * functions' network interfaces (its cdk-nag finding acknowledged). The construct adds its grants.
 */
export function createExecutionRole(scope: Construct, id: string, description: string, props: TrpcSubscriptionOperationsProps): iam.Role {
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description,
    permissionsBoundary: props.permissionsBoundary,
  });
  if (props.vpc) {
    // What Lambda needs to create and remove the functions' network interfaces in the VPC.
    role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
    acknowledgeRule(
      role,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      'The AWS managed policy Lambda documents for functions in a VPC: network interfaces only.',
    );
  }
  return role;
}

/**
 * X-Ray's segment upload has no resource: with `tracing` on, its `*` is acknowledged on `role`
 * (call it once the traced functions exist, so that their policy statements do too).
 */
export function acknowledgeTracingWildcard(role: iam.IRole, tracing: Tracing | undefined): void {
  if (tracing === undefined || tracing === Tracing.DISABLED) return;
  acknowledgeRule(
    role,
    'AwsSolutions-IAM5[Resource::*]',
    'xray:PutTraceSegments and xray:PutTelemetryRecords take no resource; CDK adds them for tracing.',
  );
}
