/**
 * Another Region's `TrpcSubscriptionApi` that this stack's functions post to: connections of
 * that Region are reached only through its own API and stage.
 */
export interface TrpcSubscriptionRegionPeer {
  /** The Region, e.g. `us-east-1`. */
  readonly region: string;
  /**
   * The id of that Region's WebSocket API (its stack's `realtime.webSocketApi.apiId`, e.g. from a
   * first deployment's output).
   */
  readonly apiId: string;
  /**
   * That API's stage.
   * @default 'prod'
   */
  readonly stageName?: string;
}

/**
 * A multi-region set-up: one stack per Region, each with its own `TrpcSubscriptionApi` (API,
 * stage, handlers), all on one DynamoDB global table. A publish in any Region reads its own
 * replica and posts to each subscriber's Region (docs/multi-region.md).
 */
export interface TrpcSubscriptionMultiRegion {
  /**
   * Name of the global table, the same in every Region: the stack that creates it (the one with
   * `replicaRegions`) names it so, and the others find their replica by it.
   */
  readonly tableName: string;
  /**
   * The other Regions to replicate the table to. Give it in exactly one stack (the primary), which
   * creates the global table; deploy that stack first (`addStackDependency`).
   * @default - this stack does not create the table: it uses the replica named `tableName` in its Region
   */
  readonly replicaRegions?: readonly string[];
  /**
   * The other Regions' APIs. Their functions get `execute-api:ManageConnections` on exactly those
   * APIs' stages, and `TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS` lists their callback URLs. API ids
   * exist only once deployed: deploy every Region once, then pass the ids (e.g. as context).
   * @default - none: subscribers of other Regions are reported as failed deliveries (`failedRegions`)
   */
  readonly peers?: readonly TrpcSubscriptionRegionPeer[];
}
