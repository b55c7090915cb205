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
export function roleBundling(
  role: FunctionRole, bundling: BundlingOptions | undefined, perRole: boolean, features: BundleFeatures = {},
): BundlingOptions {
  const merged: BundlingOptions = { ...DEFAULT_BUNDLING, ...bundling };
  return {
    ...merged,
    define: {
      ...merged.define,
      [PRESENCE_DEFINE]: JSON.stringify(features.presence === false ? 'off' : 'on'),
      [HOOKS_DEFINE]: JSON.stringify(features.hooks === false ? 'off' : 'on'),
      [HISTORY_DEFINE]: JSON.stringify(features.history === false ? 'off' : 'on'),
      [MULTI_REGION_DEFINE]: JSON.stringify(features.multiRegion === false ? 'off' : 'on'),
      ...(perRole ? { [ROLE_DEFINE]: JSON.stringify(role) } : {}),
    },
  };
}
