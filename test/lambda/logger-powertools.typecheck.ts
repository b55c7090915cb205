/**
 * Compile-time test (`npm run typecheck`): a Powertools `Logger` instance is accepted wherever
 * the runtime takes a `logger` option.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { initTRPC } from '@trpc/server';
import { initSubscriptions, memory, type Logger } from '../../lambda';

const powertools = new PowertoolsLogger({ serviceName: 'realtime' });
export const asLogger: Logger = powertools;

const subscriptions = initSubscriptions();
const t = initTRPC.create();
const app = subscriptions.router({ router: t.router({ onTick: t.procedure.subscription(subscriptions.resolver<number>()) }) })
  .store({ store: memory() });

export const handlers = [
  app.connect({ logger: powertools }),
  app.handler({ logger: powertools }),
  app.disconnect({ logger: powertools }),
];
export const publisher = app.publisher({ logger: powertools });
