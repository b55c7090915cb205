import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag's `AwsSolutions-IAM5` finding for each given resource ARN on `scope`
 * (and so on the IAM policies below it), without a dependency on cdk-nag: the acknowledgement
 * is CDK's own `Validations` metadata, which cdk-nag reads. Each finding is acknowledged by
 * its exact id, so other wildcards on the same principal are still reported.
 */
export function acknowledgeWildcardResources(scope: IConstruct, resourceArns: readonly string[], reason: string): void {
  const stack = Stack.of(scope);
  for (const arn of resourceArns) {
    Validations.of(scope).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${flattenReference(stack.resolve(arn))}]`,
      reason,
    });
  }
}

/** Acknowledges cdk-nag's `AwsSolutions-IAM5` finding for each given action on `scope`. */
export function acknowledgeWildcardActions(scope: IConstruct, actions: readonly string[], reason: string): void {
  for (const action of actions) {
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason });
  }
}

/**
 * Renders a resolved CloudFormation value the way cdk-nag names findings: `{Ref: X}` as `<X>`,
 * `{Fn::GetAtt: [X, Y]}` as `<X.Y>`, `Fn::Join` joined.
 */
function flattenReference(node: unknown): string {
  if (typeof node === 'string') {
    return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  }
  if (node !== null && typeof node === 'object') {
    const fn = node as Record<string, unknown>;
    if (Array.isArray(fn['Fn::Join'])) {
      const [delimiter, items] = fn['Fn::Join'] as [string, unknown[]];
      return items.map(flattenReference).join(delimiter);
    }
    if (Array.isArray(fn['Fn::GetAtt'])) {
      const [resource, attribute] = fn['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
    }
    if (fn.Ref !== undefined) {
      return `<${flattenReference(fn.Ref)}>`;
    }
  }
  return JSON.stringify(node);
}

/**
 * Acknowledges one cdk-nag finding by its full id (`Serverless-LambdaDLQ`,
 * `AwsSolutions-IAM4[Policy::...]`) on `scope` and the resources below it, with a reason.
 */
export function acknowledgeRule(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
