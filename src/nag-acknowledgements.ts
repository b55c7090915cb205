import { CfnResource, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** One cdk-nag finding the construct accepts, with the reason. */
export interface NagAcknowledgement {
  /** The rule, e.g. `AwsSolutions-IAM5`. */
  readonly rule: string;
  /**
   * The finding of a granular rule, e.g. `Resource::arn:<AWS::Partition>:...`.
   * @default - every finding of `rule`
   */
  readonly appliesTo?: string;
  /** Why the finding is accepted (at least 10 characters: cdk-nag 2 refuses shorter ones). */
  readonly reason: string;
}

/**
 * The construct metadata `Validations.of(scope).acknowledge()` writes, which cdk-nag 3 reads on
 * the resource and its ancestors. Written directly, so that it works on every aws-cdk-lib
 * version the package accepts (`Validations` came in 2.251, ids with `::` only in 2.269).
 */
const ACKNOWLEDGED_RULES_METADATA_KEY = 'aws:cdk:acknowledged-rules';

/**
 * Acknowledges cdk-nag findings on `scope` in the two forms cdk-nag reads, without a dependency
 * on cdk-nag: `aws:cdk:acknowledged-rules` construct metadata on `scope` (cdk-nag 3), and
 * `cdk_nag.rules_to_suppress` CloudFormation metadata on every resource below `scope` that exists
 * now (cdk-nag 2, as `NagSuppressions.addResourceSuppressions(scope, rules, true)` writes it).
 * Granular findings are acknowledged by their exact id, so other findings of the same rule on the
 * same resource are still reported.
 */
export function acknowledgeNagFindings(scope: IConstruct, acknowledgements: readonly NagAcknowledgement[]): void {
  for (const { rule, appliesTo, reason } of acknowledgements) {
    scope.node.addMetadata(ACKNOWLEDGED_RULES_METADATA_KEY, { [appliesTo ? `${rule}[${appliesTo}]` : rule]: reason });
  }
  for (const resource of scope.node.findAll().filter(CfnResource.isCfnResource)) {
    const existing = (resource.getMetadata('cdk_nag') as { rules_to_suppress?: unknown[] } | undefined)?.rules_to_suppress ?? [];
    const added = groupByRule(acknowledgements);
    const unique = [...new Set([...existing, ...added].map((entry) => JSON.stringify(entry)))].map((entry) => JSON.parse(entry));
    resource.addMetadata('cdk_nag', { rules_to_suppress: unique });
  }
}

/** cdk-nag 2's entries: one per rule and reason, its granular findings together in `applies_to`. */
function groupByRule(acknowledgements: readonly NagAcknowledgement[]): object[] {
  const entries = new Map<string, { id: string; reason: string; applies_to?: string[] }>();
  for (const { rule, appliesTo, reason } of acknowledgements) {
    const key = JSON.stringify([rule, reason, appliesTo === undefined]);
    const entry = entries.get(key) ?? { id: rule, reason, ...(appliesTo === undefined ? {} : { applies_to: [] }) };
    entries.set(key, entry);
    if (appliesTo !== undefined) {
      entry.applies_to!.push(appliesTo);
    }
  }
  return [...entries.values()];
}

/**
 * cdk-nag's `AwsSolutions-IAM5` finding for each given resource ARN, named the way cdk-nag
 * names it (`Resource::arn:<AWS::Partition>:...`).
 */
export function wildcardResourceFindings(scope: IConstruct, resourceArns: readonly string[], reason: string): NagAcknowledgement[] {
  const stack = Stack.of(scope);
  return resourceArns.map((arn) => ({
    rule: 'AwsSolutions-IAM5',
    appliesTo: `Resource::${flattenReference(stack.resolve(arn))}`,
    reason,
  }));
}

/** cdk-nag's `AwsSolutions-IAM5` finding for each given wildcard action (`Action::kms:ReEncrypt*`). */
export function wildcardActionFindings(actions: readonly string[], reason: string): NagAcknowledgement[] {
  return actions.map((action) => ({ rule: 'AwsSolutions-IAM5', appliesTo: `Action::${action}`, reason }));
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
  const [, rule, appliesTo] = /^([^[]+)(?:\[(.*)\])?$/.exec(id)!;
  acknowledgeNagFindings(scope, [{ rule, appliesTo, reason }]);
}
