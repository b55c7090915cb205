import { Stack, Token } from 'aws-cdk-lib';
import type { TrpcSubscriptionMultiRegion, TrpcSubscriptionRegionPeer } from './multi-region-props';
import { PropValidationError } from './prop-validation-error';

const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const TABLE_NAME_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;
const API_ID_PATTERN = /^[a-z0-9]{10}$/;
const STAGE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** A peer with its stage settled. */
export type SettledPeer = Required<TrpcSubscriptionRegionPeer>;

/**
 * Checks `multiRegion` against the stack it is in (a known Region, not among the replicas or
 * peers) and settles the peers' stages.
 * @throws PropValidationError naming the prop and the value
 */
export function settleMultiRegion(stack: Stack, multiRegion: TrpcSubscriptionMultiRegion): { region: string; peers: SettledPeer[] } {
  const region = stack.region;
  if (Token.isUnresolved(region)) {
    throw new PropValidationError('multiRegion', 'needs a stack with an explicit region (env: { region })', 'a region-agnostic stack');
  }
  const { tableName } = multiRegion;
  if (!Token.isUnresolved(tableName) && !TABLE_NAME_PATTERN.test(tableName)) {
    throw new PropValidationError('multiRegion.tableName', 'must be 3 to 255 letters, digits, `_`, `-` or `.`', JSON.stringify(tableName));
  }
  checkRegions('multiRegion.replicaRegions', multiRegion.replicaRegions ?? [], region);
  const peers = (multiRegion.peers ?? []).map((peer) => ({ ...peer, stageName: peer.stageName ?? 'prod' }));
  checkRegions('multiRegion.peers', peers.map((peer) => peer.region), region);
  for (const peer of peers) {
    if (!Token.isUnresolved(peer.apiId) && !API_ID_PATTERN.test(peer.apiId)) {
      throw new PropValidationError('multiRegion.peers', 'API ids must be 10 lowercase letters or digits', `${peer.region}: ${JSON.stringify(peer.apiId)}`);
    }
    if (!Token.isUnresolved(peer.stageName) && !STAGE_NAME_PATTERN.test(peer.stageName)) {
      throw new PropValidationError('multiRegion.peers', 'stage names must be 1 to 128 letters, digits, `-` or `_`', `${peer.region}: ${JSON.stringify(peer.stageName)}`);
    }
  }
  return { region, peers };
}

function checkRegions(prop: string, regions: readonly string[], own: string): void {
  const seen = new Set<string>();
  for (const region of regions) {
    if (Token.isUnresolved(region)) {
      throw new PropValidationError(prop, 'must name Regions literally (they choose ARNs and replicas at synth time)', 'a token');
    }
    if (!REGION_PATTERN.test(region)) throw new PropValidationError(prop, 'must hold Region names such as us-east-1', JSON.stringify(region));
    if (region === own) throw new PropValidationError(prop, 'must not include the stack\'s own Region', region);
    if (seen.has(region)) throw new PropValidationError(prop, 'must not repeat a Region', region);
    seen.add(region);
  }
}

/** The Management API endpoint (stage callback URL) of a peer's API. */
export function peerCallbackUrl(stack: Stack, peer: SettledPeer): string {
  return `https://${peer.apiId}.execute-api.${peer.region}.${stack.urlSuffix}/${peer.stageName}`;
}

/** `@connections/*` ARNs of a peer's API and stage, one per method. */
export function peerConnectionArns(stack: Stack, peer: SettledPeer, methods: readonly string[]): string[] {
  return methods.map((method) => stack.formatArn({
    service: 'execute-api',
    region: peer.region,
    resource: peer.apiId,
    resourceName: `${peer.stageName}/${method}/@connections/*`,
  }));
}

/** `TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS`: every Region's callback URL, this one's included (JSON, tokens resolved at deploy time). */
export function regionEndpointsJson(stack: Stack, region: string, callbackUrl: string, peers: readonly SettledPeer[]): string {
  return stack.toJsonString({ [region]: callbackUrl, ...Object.fromEntries(peers.map((peer) => [peer.region, peerCallbackUrl(stack, peer)])) });
}
