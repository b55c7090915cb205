import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { DEFAULT_BUNDLING } from './function-defaults';
import type { BundleFeatures } from './trpc-subscription-api-props';
import { HISTORY_DEFINE, HOOKS_DEFINE, MULTI_REGION_DEFINE, PRESENCE_DEFINE, ROLE_DEFINE, type FunctionRole } from '../lambda/constants';

/**
 * The esbuild options of one function built from the handlers module: the user's `bundling` over
 * the defaults; unless `perRole` is false, the function's role as a `define` of
 * {@link ROLE_DEFINE}, so that its bundle carries that role's code only (the runtime tests the
 * role where it builds a handler, the publisher, the worker or the store's operations;
 * docs/runtime.md, "One role per function"); and each feature's expression ({@link PRESENCE_DEFINE},
 * {@link HOOKS_DEFINE}, {@link HISTORY_DEFINE}, {@link MULTI_REGION_DEFINE}) as a `define` of `"off"` when `features` leaves it out, else `"on"` (so
 * that its tests fold away instead of reading the environment). The construct's defines win over
 * a user's define of the same expressions: a function must not carry another role's code under
 * its own name.
 *
 * Each role is a different esbuild run and asset; with `perRole` false every function gets the
 * same options, so they share one asset holding every role.
 */
/**
 * Which features an app keeps: every one `features` does not set to `false` (the default keeps
 * them all). The functions' defines and the grants both follow it.
 */
export function keptFeatures(features: BundleFeatures = {}): Required<BundleFeatures> {
  return {
    presence: features.presence !== false,
    hooks: features.hooks !== false,
    history: features.history !== false,
    multiRegion: features.multiRegion !== false,
  };
}

export function roleBundling(
  role: FunctionRole, bundling: BundlingOptions | undefined, perRole: boolean, features: BundleFeatures = {},
): BundlingOptions {
  const merged: BundlingOptions = { ...DEFAULT_BUNDLING, ...bundling };
  const kept = keptFeatures(features);
  const define = (keep: boolean) => JSON.stringify(keep ? 'on' : 'off');
  return {
    ...merged,
    define: {
      ...merged.define,
      [PRESENCE_DEFINE]: define(kept.presence),
      [HOOKS_DEFINE]: define(kept.hooks),
      [HISTORY_DEFINE]: define(kept.history),
      [MULTI_REGION_DEFINE]: define(kept.multiRegion),
      ...(perRole ? { [ROLE_DEFINE]: JSON.stringify(role) } : {}),
    },
  };
}
