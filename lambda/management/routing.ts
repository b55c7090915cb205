/**
 * Which Management API reaches a connection. A connection id only exists on the API that
 * accepted it: in a multi-region set-up each row names its connection's Region, and everything
 * that calls `@connections` (the publisher's fan-out, server-side stop/disconnect) asks the
 * router for that Region's API instead of using one endpoint.
 */
import type { ManagementAccess } from './client';

/** Picks the Management API of the Region a connection is on. */
export interface ConnectionRouter {
  /** This deployment's Region (`undefined` in a single-region set-up). */
  readonly localRegion?: string;
  /** True when rows carry Regions, so reads should ask for them (`withRegion`). */
  readonly multiRegion: boolean;
  /**
   * Every Region with an endpoint, for a connection whose Region is unknown (no row): ask each.
   * Single-region: `[undefined]`, the one endpoint.
   */
  readonly regions: readonly (string | undefined)[];
  /**
   * The Management API for a connection of `region` (`undefined`: a row without a Region, i.e.
   * this Region's). `undefined` when the Region has no configured endpoint.
   */
  accessFor(region: string | undefined): ManagementAccess | undefined;
  /** The Region a row of `region` is counted under (its own, else the local one; `undefined` single-region). */
  regionOf(region: string | undefined): string | undefined;
}

/** Every connection on one API: the single-region set-up. */
export function singleEndpointRouter(access: ManagementAccess): ConnectionRouter {
  return { multiRegion: false, accessFor: () => access, regionOf: () => undefined, regions: [undefined] };
}

/**
 * Connections routed by Region. Rows without a Region (written before multi-region was turned
 * on) belong to `localRegion`. Clients are made lazily, once per endpoint.
 */
export function regionRouter(
  localRegion: string, endpoints: ReadonlyMap<string, string>, accessOf: (endpoint: string, isLocal: boolean) => ManagementAccess,
): ConnectionRouter {
  const accesses = new Map<string, ManagementAccess>();
  return {
    localRegion,
    multiRegion: true,
    regionOf: (region) => region ?? localRegion,
    // This Region first: a connection without a row is most likely a local one.
    regions: [localRegion, ...[...endpoints.keys()].filter((name) => name !== localRegion)],
    accessFor: (region) => {
      const name = region ?? localRegion;
      const endpoint = endpoints.get(name);
      if (endpoint === undefined) return undefined;
      let access = accesses.get(name);
      if (!access) {
        access = accessOf(endpoint, name === localRegion);
        accesses.set(name, access);
      }
      return access;
    },
  };
}
