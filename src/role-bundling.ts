import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { DEFAULT_BUNDLING } from './function-defaults';
import { ROLE_DEFINE, type FunctionRole } from '../lambda/constants';

/**
 * The esbuild options of one function built from the handlers module: the user's `bundling` over
 * the defaults and, unless `perRole` is false, the function's role as a `define` of
 * {@link ROLE_DEFINE}, so that its bundle carries that role's code only (the runtime tests the
 * role where it builds a handler, the publisher, the worker or the store's operations;
 * docs/runtime.md, "One role per function"). The role wins over a user's define of the same
 * expression: a function must not carry another role's code under its own name.
 *
 * Each role is a different esbuild run and asset; with `perRole` false every function gets the
 * same options, so they share one asset holding every role.
 */
export function roleBundling(role: FunctionRole, bundling: BundlingOptions | undefined, perRole: boolean): BundlingOptions {
  const merged: BundlingOptions = { ...DEFAULT_BUNDLING, ...bundling };
  if (!perRole) return merged;
  return { ...merged, define: { ...merged.define, [ROLE_DEFINE]: JSON.stringify(role) } };
}
