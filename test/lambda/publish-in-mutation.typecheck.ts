/**
 * Compile-time test (`npm run typecheck`) of the README's router pattern: the subscription routes
 * in their own router, the app router merging them with a mutation that publishes and returns
 * the publish result. The publisher's type depends on the subscription router only, so the app
 * router's type is not circular (TS7022 "'appRouter' implicitly has type 'any'").
 */
import { initTRPC } from '@trpc/server';
import * as z from 'zod/mini';
import { initSubscriptions, type PublishResult } from '../../lambda';

const subscriptions = initSubscriptions();
const t = initTRPC.context<{ userId: string; connectionId: string }>().create();

const subscriptionRouter = t.router({
  onMessage: t.procedure
    .input(z.object({ room: z.string() }))
    .subscription(subscriptions.resolver<{ text: string; from: string }>()),
});

const appSubscriptions = subscriptions
  .router({ router: subscriptionRouter, createContext: ({ connectionId }) => ({ userId: 'anon', connectionId }) })
  .routes.onMessage.filter({ name: 'byRoom', input: { room: true } });
const publisher = appSubscriptions.publisher();

export const appRouter = t.mergeRouters(subscriptionRouter, t.router({
  send: t.procedure
    .input(z.object({ room: z.string(), text: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const result = await publisher.routes.onMessage.publish({
        data: { text: input.text, from: ctx.userId },
        filter: { name: 'byRoom', input: { room: input.room } },
        excludeConnectionId: ctx.connectionId,
      });
      return result;
    }),
}));

// The app router's type is complete: the mutation's output is the publish result.
type SendOutput = Awaited<ReturnType<ReturnType<typeof appRouter.createCaller>['send']>>;
export const sendOutput: PublishResult = null as unknown as SendOutput;
export const sendOutputBack: SendOutput = null as unknown as PublishResult;

// The handlers serve the whole app router with the filters declared on the subscription routes.
const app = appSubscriptions.serve(appRouter);
export const handlers = [app.connect(), app.handler(), app.disconnect()];

// Publishing is still type-checked against the subscription routes.
export async function wrongPublishes(): Promise<void> {
  // @ts-expect-error `data` must be the resolver's type
  await publisher.routes.onMessage.publish({ data: { text: 1, from: 'a' } });
  // @ts-expect-error unknown filter name
  await publisher.routes.onMessage.publish({ data: { text: 'x', from: 'a' }, filter: { name: 'byUser', input: { room: 'a' } } });
}
