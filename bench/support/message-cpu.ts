/**
 * CPU per `$default` message (section 3), in a process of its own on the Node.js that Lambda runs
 * (the construct's default runtime's major, from the npm registry): the example's handler with the
 * memory store, then with the DynamoDB store on the bench's DynamoDB Local, each DynamoDB message
 * followed by its floor (the same rows written by one bare request from the same process).
 *
 * Run as `node --import tsx bench/support/message-cpu.ts '<MessageCpuArgs as JSON>'`: prints the
 * rows as JSON on stdout.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LifecycleFloor, type FloorRequest } from './floors';
import { appSubscriptions } from '../../example/app-router';
import { dynamodb, memory, type SubscriptionStore, type WebSocketHandler } from '../../lambda';
import { createSubscriptionTable, LOCAL_AWS_SETTINGS, silentLogger } from '../../lambda/local';
import { buildMessageEvent, type ConnectionFacts } from '../../lambda/local/events';

/** One measured kind of `$default` message. */
export interface MessageCpuRow {
  readonly store: string;
  readonly kind: string;
  readonly invocations: number;
  readonly cpuUsPerMessage: number;
  readonly wallUsPerMessage: number;
  /** The bare DynamoDB request of the same rows (no library code), CPU µs. */
  readonly floorCpuUsPerMessage?: number;
}

/** What the child process is given. */
export interface MessageCpuArgs {
  /** DynamoDB Local's endpoint. */
  readonly endpoint: string;
  /** Measured invocations per kind with the memory store (a quarter of it with DynamoDB Local). */
  readonly count: number;
}

const FACTS: ConnectionFacts = {
  connectionId: 'L0SM9cOFvHcCIhw=', connectedAt: Date.now(), stage: 'prod', apiId: 'abcdefghij', domainName: '127.0.0.1:9', sourceIp: '127.0.0.1',
};

function message(body: string) {
  return buildMessageEvent(FACTS, { body, isBase64Encoded: false, includeAuthorizer: false });
}

/** CPU per `$default` invocation, sequential, after a warm-up; with `floor`, the bare requests' CPU interleaved. */
export async function cpuPerMessage(store: SubscriptionStore, storeName: string, count: number, floor?: LifecycleFloor): Promise<MessageCpuRow[]> {
  // No frame of these invocations goes through PostToConnection (one frame each: the route
  // response); a client that fails loudly proves it.
  const management = new ApiGatewayManagementApiClient({ endpoint: 'http://127.0.0.1:9', region: 'local', maxAttempts: 1 });
  // One connection holds every measured subscription until the stops run: raise the
  // per-connection cap (default 100) above what this measurement starts.
  const handler: WebSocketHandler = appSubscriptions.handler({
    store, managementClient: () => management, logger: silentLogger, maxSubscriptionsPerConnection: count + 200,
  });
  await store.putConnection({
    connectionId: FACTS.connectionId,
    connectedAt: FACTS.connectedAt,
    expireAt: Math.floor(Date.now() / 1000) + 7800,
    awaitingConnectionParams: false,
    connect: {},
  });
  const floorConnection = 'F0SM9cOFvHcCIhw=';
  if (floor) await floor.connect(floorConnection)();
  const room = (id: number) => `room-${id % 50}`;
  const subscribe = (id: number) => message(JSON.stringify({ id, method: 'subscription', params: { path: 'onMessage', input: { json: { room: room(id) } } } }));
  const stop = (id: number) => message(JSON.stringify({ id, method: 'subscription.stop' }));
  const ping = () => message('PING');
  const expect = (body: string | undefined, fragment: string) => {
    if (!body?.includes(fragment)) throw new Error(`cpu: expected a frame with ${fragment}, got ${String(body)}`);
  };
  const rows: MessageCpuRow[] = [];
  /**
   * Each invocation's event is built before its clock starts (the Lambda runtime builds it, not
   * the handler), and the floor's request right after it, on its own clock.
   */
  const measure = async (kind: string, event: (i: number) => ReturnType<typeof message>, fragment: string, floorOf?: (i: number) => FloorRequest) => {
    const warmup = Math.min(100, Math.floor(count / 5));
    let cpu = 0;
    let wall = 0;
    let floorCpu = 0;
    for (let i = 0; i < warmup + count; i++) {
      const input = event(i);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const { body } = await handler(input);
      const used = process.cpuUsage(cpu0);
      const elapsed = performance.now() - t0;
      expect(body, fragment);
      const request = floorOf?.(i);
      const floor0 = process.cpuUsage();
      await request?.();
      const floorUsed = process.cpuUsage(floor0);
      if (i < warmup) continue;
      cpu += used.user + used.system;
      wall += elapsed;
      floorCpu += floorUsed.user + floorUsed.system;
    }
    rows.push({
      store: storeName,
      kind,
      invocations: count,
      cpuUsPerMessage: cpu / count,
      wallUsPerMessage: (wall * 1000) / count,
      ...(floorOf ? { floorCpuUsPerMessage: floorCpu / count } : {}),
    });
  };
  await measure('subscription start (onMessage, 2 filters)', (i) => subscribe(1 + i), '"started"',
    floor && ((i) => floor.subscribe(floorConnection, 1 + i, room(1 + i))));
  await measure('subscription.stop', (i) => stop(1 + i), '"stopped"', floor && ((i) => floor.stop(floorConnection, 1 + i, room(1 + i))));
  await measure('PING', () => ping(), 'PONG');
  management.destroy();
  return rows;
}

/** Both stores' rows; the DynamoDB one on a fresh table of `args.endpoint`. */
export async function measureMessageCpu(args: MessageCpuArgs): Promise<MessageCpuRow[]> {
  const rows = await cpuPerMessage(memory(), 'memory', args.count);
  const client = new DynamoDBClient({ endpoint: args.endpoint, ...LOCAL_AWS_SETTINGS });
  const floorClient = new DynamoDBClient({ endpoint: args.endpoint, ...LOCAL_AWS_SETTINGS });
  try {
    const tableName = `bench-cpu-${process.pid}`;
    await createSubscriptionTable({ client, tableName });
    rows.push(...await cpuPerMessage(dynamodb({ tableName, dynamoDBClient: client }), 'dynamodb (DynamoDB Local)', Math.floor(args.count / 4),
      new LifecycleFloor(floorClient, tableName)));
    return rows;
  } finally {
    client.destroy();
    floorClient.destroy();
  }
}

if (require.main === module) {
  measureMessageCpu(JSON.parse(process.argv[2]) as MessageCpuArgs).then(
    (rows) => process.stdout.write(JSON.stringify(rows)),
    (error: unknown) => {
      process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
