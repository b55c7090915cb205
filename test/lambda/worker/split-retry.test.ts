import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import fc from 'fast-check';
import { dynamodb, dynamodbLedger, type QueueEvent, type QueueHandler, type SubscriptionStore } from '../../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../../lambda/local';
import { createManagementClient } from '../../../lambda/management/client';
import { workerCallSettings } from '../../../lambda/worker/settings';
import { appSubscriptions } from '../../fixtures/router';
import { fcParams, quietLogger } from '../../reliability/support/env';
import { createTestTable, localDynamoDBClient, type TestTable } from '../../support/dynamodb';
import { addVirtualSubscribers, framesOf, startWorkerQueue, type WorkerQueue } from '../support/queue-harness';

/**
 * Exactly once across retried splits, as a property. The invocation that splits a queued publish
 * is killed at a random AWS request (that request and every later one fail, as when Lambda ends
 * an invocation on a timeout or out of memory), one to three times, and SQS hands the publish out
 * again. Between attempts subscribers leave and join (filtered publish), or the 8 shards of an
 * unfiltered read arrive in another order. Every subscriber of the last attempt's audience gets
 * the event, nobody outside the audiences gets it, nobody gets it twice (except once more for
 * each killed attempt that posted to it and died before recording it: the ledger's documented
 * window), nothing is dead-lettered and every death is reported as a failed message.
 */
/** Runs per property in `npm test`; `FC_RUNS=100 npx jest test/lambda/worker/split-retry.test.ts` for more. */
const RUNS = 10;
const BATCH = 5;

/** One splitting invocation the test may kill: from its `killAt`-th AWS request on, every request fails. */
interface Life {
  readonly killAt: number;
  requests: number;
  dead: boolean;
  /** Connections its posts reached, including one that reached the gateway as it died. */
  readonly posted: string[];
}
const lives = new AsyncLocalStorage<Life>();

class InjectedDeath extends Error {
  constructor() {
    super('injected: the invocation died');
    this.name = 'InjectedDeath';
  }
}

type Next = (args: { input: Record<string, unknown> }) => Promise<unknown>;
interface MiddlewareClient {
  readonly middlewareStack: { add(middleware: (next: Next, context: { commandName?: string }) => Next, options: object): void };
}

/** Makes a client's requests die with the invocation they run in, and the shards' Query pages arrive in random order. */
function mortal<T>(client: T): T {
  (client as unknown as MiddlewareClient).middlewareStack.add((next, context) => async (args) => {
    const life = lives.getStore();
    if (life && (life.dead || ++life.requests >= life.killAt)) {
      life.dead = true;
      throw new InjectedDeath();
    }
    // As from DynamoDB under load: the 8 shards of an unfiltered read answer in another order each time.
    if (context.commandName === 'QueryCommand') await sleep(Math.floor(Math.random() * 6));
    const output = await next(args);
    if (life && context.commandName === 'PostToConnectionCommand') {
      life.posted.push(String(args.input.ConnectionId));
      if (life.dead) throw new InjectedDeath();
    }
    return output;
  }, { step: 'initialize', name: 'invocationDeath', priority: 'high' });
  return client;
}

interface Scenario {
  readonly instances: 1 | 8;
  /** The request at which each killed attempt dies (1: its first). */
  readonly kills: readonly number[];
  /** Before each retry: picks of subscribers who leave, and how many join. */
  readonly churn: ReadonlyArray<{ readonly leave: readonly number[]; readonly join: number }>;
}

/**
 * @param lastRequest about the AWS requests of a split here (8 shard Queries unfiltered, 1
 *   filtered; the claim, 5 posts and the first batch's ledger, 3 cuts and sends, the finish), so
 *   that most drawn kills land in it
 */
function scenarioArb(churn: boolean, lastRequest: number): fc.Arbitrary<Scenario> {
  return fc.record({
    instances: fc.constantFrom(1 as const, 8 as const),
    kills: fc.array(fc.integer({ min: 1, max: lastRequest }), { minLength: 1, maxLength: 3 }),
    churn: churn
      ? fc.array(fc.record({ leave: fc.array(fc.nat(), { maxLength: 8 }), join: fc.integer({ min: 0, max: 8 }) }), { minLength: 3, maxLength: 3 })
      : fc.constant([]),
  });
}

describe.each([
  // An unfiltered publish reads the route's 8 shards; a filtered one reads one shard in key order.
  { name: 'unfiltered, shards answering in any order', filtered: false },
  { name: 'filtered, subscribers leaving and joining between attempts', filtered: true },
])('a split killed at random points and retried by SQS: $name', ({ filtered }) => {
  let table: TestTable;
  let store: SubscriptionStore;
  let gateway: LocalGateway;
  let workerQueue: WorkerQueue;
  let scenario: Scenario;
  let instances: 1 | 8 = 1;
  let churn: (retry: number) => Promise<void> = async () => undefined;
  let deaths: Life[] = [];
  const logger = quietLogger();
  /** Subscribers matching the publish now. */
  const members = new Set<string>();
  /** Every virtual connection of the suite (room `r` and elsewhere). */
  const everyone: string[] = [];
  const room = (name: string) => ({ path: 'onMessage', filters: [{ name: 'byRoom', values: [name] }, { name: 'byUserAndRoom', values: ['v', name] }] });
  const subscribe = (count: number, name: string) => addVirtualSubscribers(gateway, store, count, room(name));

  beforeAll(async () => {
    table = await createTestTable('split-retry');
    const client = mortal(localDynamoDBClient(table.endpoint));
    store = dynamodb({ tableName: table.tableName, dynamoDBClient: client });
    const ledger = dynamodbLedger({ tableName: table.tableName, dynamoDBClient: client });
    const unused = appSubscriptions.handler({ store });
    gateway = await startLocalGateway({ handlers: { connect: unused, handler: unused, disconnect: unused }, logger: silentLogger });
    const managementClients = new Map<string, ApiGatewayManagementApiClient>();
    workerQueue = await startWorkerQueue(({ url, sqsClient }) => {
      mortal(sqsClient);
      const workers = new Map<number, QueueHandler>([1, 8].map((count) => [count, appSubscriptions.worker({
        store,
        ledger,
        logger,
        sqsClient,
        queueUrl: url,
        endpoint: gateway.endpoint,
        managementClient: (endpoint) => {
          if (!managementClients.has(endpoint)) managementClients.set(endpoint, mortal(createManagementClient(endpoint, workerCallSettings(2))));
          return managementClients.get(endpoint)!;
        },
        deliveryBatchSize: BATCH,
        instances: count,
        maxAttempts: 2,
        leaseMs: 250,
      })]));
      return (event, context) => workers.get(instances)!(event, context);
    }, {
      around: (event, run) => aroundInvocation(event, run),
      batchSize: 1,
      maxReceiveCount: 4,
      // Long enough that a live invocation on a loaded machine is not handed out again while it
      // runs (a deployment's visibility timeout is six times the worker's timeout); a killed one
      // is retried after it, as SQS does.
      visibilityTimeoutMs: 1_000,
    });
    const inRoom = await subscribe(150, 'r');
    const elsewhere = await subscribe(filtered ? 20 : 0, 'elsewhere');
    everyone.push(...inRoom, ...elsewhere);
    for (const id of filtered ? inRoom : everyone) members.add(id);
  });
  afterAll(async () => {
    await workerQueue.close();
    await gateway.close();
    table.client.destroy();
  });

  /** Kills the splitting invocations the scenario names; subscribers change before each retry. */
  async function aroundInvocation(event: QueueEvent, run: () => Promise<unknown>): Promise<unknown> {
    const [record] = event.Records;
    if (!record.body.includes('"kind":"publish"')) return run();
    const attempt = Number(record.attributes?.ApproximateReceiveCount ?? 1);
    if (attempt > 1) await churn(attempt - 2);
    const killAt = scenario.kills[attempt - 1];
    if (killAt === undefined) return run();
    const life: Life = { killAt, requests: 0, dead: false, posted: [] };
    try {
      return await lives.run(life, run);
    } finally {
      if (life.dead) deaths.push(life);
    }
  }

  test('every subscriber of the audience gets the event once; nothing is dead-lettered; every death is reported', async () => {
    let runs = 0;
    await fc.assert(fc.asyncProperty(scenarioArb(filtered, filtered ? 18 : 26), async (drawn) => {
      scenario = drawn;
      instances = drawn.instances;
      deaths = [];
      logger.entries.length = 0;
      const text = `split-${++runs}-${Date.now()}`;
      /** Everyone in some attempt's audience. */
      const matched = new Set(members);
      churn = async (retry) => {
        const change = drawn.churn[retry];
        if (!change) return;
        const current = [...members];
        for (const pick of change.leave) {
          const leaving = current[pick % current.length];
          if (!members.delete(leaving)) continue;
          await store.removeConnection(leaving);
        }
        const joined = await subscribe(change.join, 'r');
        everyone.push(...joined);
        for (const id of joined) {
          members.add(id);
          matched.add(id);
        }
      };
      const { queue, sqsClient } = workerQueue;
      const deadBefore = queue.deadLetters().length;
      await appSubscriptions.publisher({ queueUrl: queue.url, sqsClient, store }).routes.onMessage.enqueue({
        data: { text, at: new Date(0), from: 's' }, ...(filtered ? { filter: { name: 'byRoom' as const, input: { room: 'r' } } } : {}),
      });
      await queue.drained();

      // A killed attempt may have posted to a target without recording it (the ledger's one window): one more frame each.
      const postedByTheDead = new Map<string, number>();
      for (const id of deaths.flatMap((life) => [...new Set(life.posted)])) postedByTheDead.set(id, (postedByTheDead.get(id) ?? 0) + 1);
      const problems: string[] = [];
      for (const id of everyone) {
        const received = framesOf(gateway, id).filter((frame) => (frame.result.data as { json: { text: string } }).json.text === text).length;
        if (received === 0 && members.has(id)) problems.push(`${id} (in the audience) got nothing`);
        if (received > 0 && !matched.has(id)) problems.push(`${id} (never in the audience) got ${received}`);
        if (received > 1 + (postedByTheDead.get(id) ?? 0)) problems.push(`${id} got ${received}`);
      }
      const errors = logger.entries.filter((entry) => entry.level === 'error');
      const unexpected = errors.filter((entry) => !JSON.stringify(entry.details ?? {}).includes('InjectedDeath')
        && (entry.details?.error as Error | undefined)?.name !== 'InjectedDeath');
      const reportedDeaths = errors.filter((entry) => entry.message === 'fan-out worker: message failed').length;
      expect({
        problems: problems.slice(0, 8),
        lost: problems.filter((problem) => problem.endsWith('got nothing')).length,
        problemCount: problems.length,
        deadLettered: queue.deadLetters().length - deadBefore,
        unexpected: unexpected.map((entry) => entry.message),
        reportedDeaths,
      }).toEqual({ problems: [], lost: 0, problemCount: 0, deadLettered: 0, unexpected: [], reportedDeaths: deaths.length });
    }), fcParams(RUNS));
  }, 600_000);
});
