/**
 * The modes of the matrix that configure the app in code: one Region; two Regions (two local
 * gateways on one DynamoDB Local table, each Region with its own handlers, publisher, fan-out
 * worker and rollover, built with `.regions()` as the construct's environment would set them);
 * queued (every publish goes through `enqueue()` and the fan-out worker on a local queue). The
 * production mode (./production.ts) configures it from the construct's environment instead.
 */
import { matrixApp, type MatrixSubscriptions } from './app';
import type { MatrixRoute, Mode, World } from './world';
import { dynamodb, dynamodbLedger, type Logger } from '../../lambda';
import { silentLogger, startLocalGateway, type LambdaStyleHandler, type LocalGateway } from '../../lambda/local';
import { startWorkerQueue, type WorkerQueue } from '../lambda/support/queue-harness';
import { createTestTable } from '../support/dynamodb';

/** Warnings and errors of the runtime, kept for the failure message of a test that needs them. */
export const runtimeLog: Array<{ level: string; message: string }> = [];
const logger: Logger = {
  error: (message) => void runtimeLog.push({ level: 'error', message }),
  warn: (message) => void runtimeLog.push({ level: 'warn', message }),
};

/** One Region of a code-configured deployment. */
interface RegionParts {
  readonly gateway: LocalGateway;
  app: MatrixSubscriptions;
  /** Built once (as a Lambda instance builds them at start-up), after every endpoint is known. */
  handlers: Record<'connect' | 'handler' | 'disconnect', LambdaStyleHandler>;
  queue: WorkerQueue;
}

/** Publishes (or enqueues) `id` to `room` through the Region's publisher. */
async function send(
  parts: RegionParts, endpoint: { readonly endpoint?: string }, route: MatrixRoute, room: string, id: string, queued: boolean,
): Promise<string | undefined> {
  const publisher = parts.app.publisher({ ...endpoint, logger, queueUrl: parts.queue.queue.url, sqsClient: parts.queue.sqsClient });
  const args = { data: { id }, filter: { name: 'byRoom', input: { room } } } as const;
  if (!queued) {
    const result = route === 'onMessage' ? await publisher.routes.onMessage.publish(args) : await publisher.routes.onEvent.publish(args);
    return result.eventId;
  }
  const queuedResult = route === 'onMessage' ? await publisher.routes.onMessage.enqueue(args) : await publisher.routes.onEvent.enqueue(args);
  await parts.queue.queue.drained();
  return 'eventId' in queuedResult ? queuedResult.eventId : undefined;
}

/** A deployment of `names` Regions on one new table; `queued`: every publish goes through the queue. */
async function startDeployment(names: readonly string[], queued: boolean): Promise<World> {
  const table = await createTestTable('matrix');
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const ledger = dynamodbLedger({ tableName: table.tableName, dynamoDBClient: table.client });
  const multiRegion = names.length > 1;
  const parts = new Map<string, RegionParts>();
  const lostDisconnects = new Set<string>();
  for (const name of names) {
    // Resolved per invocation: the apps are built once every endpoint is known. A lost
    // `$disconnect` never reaches the handler.
    const lazy = (route: 'connect' | 'handler' | 'disconnect'): LambdaStyleHandler => async (event, context, callback) =>
      (route === 'disconnect' && lostDisconnects.has(event.requestContext.connectionId)
        ? { statusCode: 200 }
        : parts.get(name)!.handlers[route](event, context, callback));
    const gateway = await startLocalGateway({
      handlers: { connect: lazy('connect'), handler: lazy('handler'), disconnect: lazy('disconnect') },
      logger: silentLogger,
    });
    parts.set(name, { gateway, app: undefined as never, handlers: undefined as never, queue: undefined as never });
  }
  const endpoints = Object.fromEntries([...parts].map(([name, region]) => [name, region.gateway.endpoint]));
  for (const [name, region] of parts) {
    const { app } = matrixApp({ store, ...(multiRegion ? { regions: { region: name, endpoints } } : {}) });
    region.app = app;
    region.handlers = {
      connect: app.connect({ logger }) as LambdaStyleHandler,
      handler: app.handler({ logger }) as LambdaStyleHandler,
      disconnect: app.disconnect({ logger }) as LambdaStyleHandler,
    };
    const endpoint = multiRegion ? {} : { endpoint: region.gateway.endpoint };
    region.queue = await startWorkerQueue(({ url, sqsClient }) => region.app.worker({
      ...endpoint, ledger, logger, sqsClient, queueUrl: url, leaseMs: 250, maxAttempts: 2,
    }));
  }
  const region = (name: string): RegionParts => {
    const found = parts.get(name);
    if (!found) throw new Error(`no Region ${name} in this mode (${names.join(', ')})`);
    return found;
  };
  const endpointOf = (name: string) => (multiRegion ? {} : { endpoint: region(name).gateway.endpoint });
  return {
    regions: names,
    store,
    gateway: (name) => region(name).gateway,
    lostDisconnects,
    publisher: (name) => region(name).app.publisher({ ...endpointOf(name), logger }),
    publish: (name, route, room, id) => send(region(name), endpointOf(name), route, room, id, queued),
    enqueue: (name, route, room, id) => send(region(name), endpointOf(name), route, room, id, true),
    rollover: (name, ages) => region(name).app.rollover({ ...endpointOf(name), ...ages, logger })(),
    close: async () => {
      for (const parts_ of parts.values()) await parts_.queue.close();
      await Promise.all([...parts.values()].map((parts_) => parts_.gateway.close()));
      table.client.destroy();
    },
  };
}

/** One Region, direct publishes. */
export const singleRegion: Mode = { name: 'one Region', regions: ['local'], start: () => startDeployment(['local'], false) };

/** Two Regions on one table, acting from either Region on the clients of both. */
export const twoRegions: Mode = { name: 'two Regions', regions: ['eu', 'us'], start: () => startDeployment(['eu', 'us'], false) };

/** One Region, every publish through `enqueue()` and the fan-out worker. */
export const queued: Mode = { name: 'queued', regions: ['local'], start: () => startDeployment(['local'], true) };
