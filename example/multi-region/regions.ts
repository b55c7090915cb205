import type { App } from 'aws-cdk-lib';
import { RegionalStack, type RegionalStackProps } from './regional-stack';

/** The example's Regions: the first creates the global table and replicates it to the others. */
export const REGIONS = ['eu-west-1', 'us-east-1'] as const;

/** The example's global table name. */
export const TABLE_NAME = 'trpc-subscriptions-example';

/**
 * One {@link RegionalStack} per Region; each gets the other Regions whose API id is known as
 * peers. The replica stacks deploy after the primary (their replica must exist).
 */
export function multiRegionApp(
  app: App, apiIds: Readonly<Record<string, string>>, entries: Pick<RegionalStackProps, 'handlersEntry' | 'producerEntry'> = {},
): RegionalStack[] {
  const [primary, ...replicas] = REGIONS;
  const stacks = REGIONS.map((region) => new RegionalStack(app, `TrpcSubscriptions-${region}`, {
    env: { region },
    description: `cdk-trpc-subscriptions multi-region example: ${region}`,
    tableName: TABLE_NAME,
    replicaRegions: region === primary ? [...replicas] : undefined,
    peers: REGIONS.filter((other) => other !== region && apiIds[other] !== undefined).map((other) => ({ region: other, apiId: apiIds[other] })),
    ...entries,
  }));
  for (const stack of stacks.slice(1)) stack.addStackDependency(stacks[0]);
  return stacks;
}
