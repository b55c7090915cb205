import type { AnyTRPCRouter } from '@trpc/server';

/** True when the router has a subscription procedure at `path` (dot-separated). */
export function isSubscriptionProcedure(router: AnyTRPCRouter, path: string): boolean {
  const procedure = (router._def.procedures as Record<string, { _def?: { type?: string } } | undefined>)[path];
  return procedure?._def?.type === 'subscription';
}
