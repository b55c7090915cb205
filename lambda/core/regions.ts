/**
 * Multi-region settings: the Region this code runs in and every Region's Management API endpoint
 * (docs/multi-region.md). Given to `.regions()` or read from the environment the construct sets.
 */

/** Options of `.regions()`. */
export interface RegionsOptions {
  /** The Region this deployment runs in; every row its connections write carries it. */
  readonly region: string;
  /**
   * The Management API endpoint (stage callback URL) of every Region, this one included:
   * `{ 'eu-west-1': 'https://{api-id}.execute-api.eu-west-1.amazonaws.com/prod', ... }`.
   */
  readonly endpoints: Readonly<Record<string, string>>;
}

/** {@link RegionsOptions}, checked. */
export interface RegionSettings {
  readonly region: string;
  readonly endpoints: ReadonlyMap<string, string>;
}

/** Region names: what AWS uses (`eu-west-1`), or any short label (`eu`) locally. */
const REGION_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;

/**
 * Checks multi-region options, naming `source` (the option or the environment variable) and the
 * bad value in the error.
 * @throws Error when the region is not a short lowercase name, an endpoint is not an http(s) URL,
 *   or the own region has no endpoint
 */
export function settleRegions(options: RegionsOptions, source: string): RegionSettings {
  const { region, endpoints } = options ?? ({} as RegionsOptions);
  if (typeof region !== 'string' || !REGION_PATTERN.test(region)) {
    throw new Error(`${source}: \`region\` must be a Region name such as eu-west-1, got: ${JSON.stringify(region)}`);
  }
  if (typeof endpoints !== 'object' || endpoints === null || Array.isArray(endpoints)) {
    throw new Error(`${source}: \`endpoints\` must map each Region to its Management API endpoint, got: ${JSON.stringify(endpoints)}`);
  }
  const map = new Map<string, string>();
  for (const [name, endpoint] of Object.entries(endpoints)) {
    if (!REGION_PATTERN.test(name)) {
      throw new Error(`${source}: \`endpoints\` keys must be Region names such as eu-west-1, got: ${JSON.stringify(name)}`);
    }
    if (typeof endpoint !== 'string' || !/^https?:\/\/[^/]+/.test(endpoint)) {
      throw new Error(`${source}: the endpoint of ${name} must be an http(s) URL, got: ${JSON.stringify(endpoint)}`);
    }
    map.set(name, endpoint);
  }
  if (!map.has(region)) {
    throw new Error(`${source}: \`endpoints\` must include this Region (${region}), got: ${[...map.keys()].join(', ') || 'none'}`);
  }
  return { region, endpoints: map };
}

/**
 * Multi-region settings from the two environment variables (their names are given by the
 * caller): `undefined` when the endpoints variable is unset (a single-region deployment).
 * @throws Error naming the variable when it is not a JSON object of endpoints or the Region is missing
 */
export function parseRegionEnvironment(
  region: string | undefined, endpointsJson: string | undefined, names: { readonly region: string; readonly endpoints: string },
): RegionSettings | undefined {
  if (!endpointsJson) return undefined;
  let endpoints: unknown;
  try {
    endpoints = JSON.parse(endpointsJson);
  } catch {
    throw new Error(`${names.endpoints} must be a JSON object of Region endpoints, got: ${endpointsJson}`);
  }
  return settleRegions({ region: region ?? '', endpoints: endpoints as Record<string, string> }, `${names.endpoints} / ${names.region}`);
}
