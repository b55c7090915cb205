/**
 * Evaluates IAM requests with an independent IAM policy simulator (`@cloud-copilot/iam-simulate`,
 * strict mode): the role's identity policies and permissions boundary, and the resource's policy
 * (queue policy, KMS key policy) when it has one, all from the synthesized template.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { Deployment, RolePolicies } from './deployment';
import type { IamRequest } from './iam-requests';

/** The simulator's decision on one request, with why. */
export interface Decision {
  readonly request: IamRequest;
  readonly result: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
  /** Context keys the simulator dropped as not applying to the action (should be none). */
  readonly ignoredContextKeys: readonly string[];
  /** For a denial: the statements that matched the action and resource, and which conditions failed. */
  readonly why?: string;
}

/** Why no statement allowed it: each statement that matched action and resource, with its unmet conditions. */
function explainDenial(analysis: any): string {
  const statements = [
    ...(analysis?.identityAnalysis?.unmatchedStatements ?? []),
    ...(analysis?.permissionBoundaryAnalysis?.unmatchedStatements ?? []),
  ].map((statement: any) => statement.explain).filter((explain: any) => explain?.actionMatch && explain?.resourceMatch);
  if (statements.length === 0) return 'no statement grants this action on this resource';
  return statements.map((explain: any) => {
    const failed = (explain.conditions ?? []).filter((condition: any) => !condition.matches)
      .map((condition: any) => `${condition.operator} ${condition.conditionKeyValue}`
        + (condition.unmatchedValues?.length ? ` unmatched ${condition.unmatchedValues.join(', ')}` : '')
        + (condition.failedBecauseMissing ? ' (missing from the request)' : ''));
    return `statement ${explain.identifier}: ${failed.join('; ') || 'conditions unmet'}`;
  }).join(' | ');
}

/** Evaluates `request` as sent by the role. */
export async function simulate(deployment: Deployment, role: RolePolicies, request: IamRequest): Promise<Decision> {
  const resourcePolicy = deployment.resourcePolicy(request.resource);
  const response = await runSimulation({
    request: {
      principal: role.roleArn,
      action: request.action,
      resource: { resource: request.resource, accountId: deployment.account },
      contextVariables: { ...request.context },
    },
    identityPolicies: role.identityPolicies.map(({ name, policy }) => ({ name, policy })),
    permissionBoundaryPolicies: role.permissionsBoundary ? [{ name: 'boundary', policy: role.permissionsBoundary }] : undefined,
    resourcePolicy,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, {});
  if (response.resultType === 'error') {
    throw new Error(`the simulator refused ${request.describe}: ${response.errors.message} ${JSON.stringify(response.errors)}`);
  }
  if (response.resultType !== 'single') throw new Error(`${request.describe}: expected one resource, got ${response.resultType}`);
  const { analysis, ignoredContextKeys = [] } = response.result;
  return {
    request,
    result: response.overallResult,
    ignoredContextKeys,
    ...(response.overallResult === 'Allowed' ? {} : { why: explainDenial(analysis) }),
  };
}

/** Evaluates many requests (the same request once). */
export async function simulateAll(deployment: Deployment, role: RolePolicies, requests: readonly IamRequest[]): Promise<Decision[]> {
  const seen = new Map<string, Promise<Decision>>();
  return Promise.all(requests.map((request) => {
    const key = JSON.stringify([request.action, request.resource, request.context]);
    let decision = seen.get(key);
    if (!decision) {
      decision = simulate(deployment, role, request);
      seen.set(key, decision);
    }
    return decision.then((found) => ({ ...found, request }));
  }));
}
