import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { initSubscriptions, type OnErrorOptions } from '../../../lambda';

/**
 * A router for error-path tests. Import it only after setting NODE_ENV: tRPC reads `isDev`
 * when the router is created.
 */
export const errors: OnErrorOptions<any>[] = [];
const subscriptions = initSubscriptions();
const t = initTRPC.create({
  transformer: superjson,
  errorFormatter: ({ shape }) => ({ ...shape, data: { ...shape.data, formatted: true } }),
});
export const errorRouter = t.router({
  boom: t.procedure.query((): string => {
    throw new Error('database exploded');
  }),
  forbidden: t.procedure.query((): string => {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'not yours' });
  }),
  native: t.procedure.subscription(async function* () {
    yield 1;
  }),
  ok: t.procedure.subscription(subscriptions.resolver<number>()),
});
export const errorSubscriptions = subscriptions.router({ router: errorRouter, onError: (opts) => errors.push(opts) });
