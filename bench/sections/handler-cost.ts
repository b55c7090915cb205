/**
 * 3. Handler cost: the esbuild bundle of example/handlers.ts from the repository's sources, every
 * role and feature (its size by part; the budgets on size are section 6's, on the packed package
 * as users bundle it), its cold module init in fresh Node processes, and per-message CPU time of
 * `$default` in-process.
 * Also: PING through the gateway must make no DynamoDB and no Management API call.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { build, type Metafile } from 'esbuild';
import { WebSocket } from 'ws';
import { appSubscriptions } from '../../example/app-router';
import { dynamodb, memory } from '../../lambda';
import { createSubscriptionTable, silentLogger, startLocalGateway } from '../../lambda/local';
import type { Budget } from '../support/budget';
import { meterDynamoDB } from '../support/dynamodb-meter';
import type { BenchEnv } from '../support/env';
import { exampleHandlers, seedRoomSubscriber } from '../support/example-app';
import { installLambdaNode } from '../support/lambda-node';
import { type MessageCpuArgs, type MessageCpuRow } from '../support/message-cpu';
import { fmt, kb, median, quantile, table } from '../support/stats';

const ROOT = join(__dirname, '..', '..');
const ENTRY = join(ROOT, 'example', 'handlers.ts');
/** Inside the repository, so that the SDK-external bundle resolves `@aws-sdk/*` from node_modules. */
const OUT_DIR = join(ROOT, 'bench', 'results', '.bundles');

interface BundleFigures {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  /** Bytes in the output per group (library, tRPC, zod, ...). */
  readonly groups: Array<[string, number]>;
  readonly initMs: number[];
}

/** Which part of the bundle an input file belongs to. */
function groupOf(path: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
  if (pkg) {
    if (pkg.startsWith('@aws-sdk/') || pkg.startsWith('@smithy/') || ['bowser', 'mnemonist', 'tslib', 'fast-xml-parser', 'strnum', 'uuid'].includes(pkg)) return 'AWS SDK v3';
    if (pkg === 'copy-anything' || pkg === 'is-what') return 'superjson';
    return pkg;
  }
  const local = relative(ROOT, join(ROOT, path));
  if (local.startsWith('lambda/')) return 'library (lambda/)';
  if (local.startsWith('example/')) return 'example app';
  return local;
}

async function bundle(name: string, sdkExternal: boolean): Promise<Omit<BundleFigures, 'initMs'>> {
  const file = join(OUT_DIR, `handlers-${sdkExternal ? 'sdk-external' : 'sdk-included'}.js`);
  // As NodejsFunction bundles for a Node.js 22 runtime (which ships the SDK v3), minified.
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    outfile: file,
    external: sdkExternal ? ['@aws-sdk/*'] : [],
    metafile: true,
    logLevel: 'error',
  });
  const output = Object.values((result.metafile as Metafile).outputs)[0];
  const groups: Record<string, number> = {};
  for (const [path, input] of Object.entries(output.inputs)) {
    groups[groupOf(path)] = (groups[groupOf(path)] ?? 0) + input.bytesInOutput;
  }
  return { name, file, bytes: output.bytes, groups: Object.entries(groups).sort((a, b) => b[1] - a[1]) };
}

/** `require()` time of a file in a fresh Node process, in ms. */
function coldRequireMs(file: string): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NODE_OPTIONS: '' } });
  return Number(out);
}

/** The example's largest input schema, written with each zod import style. */
const ZOD_STYLES: Array<[string, string]> = [
  ["import { z } from 'zod' (classic, named export)",
    "import { z } from 'zod'; export const s = z.object({ room: z.string(), text: z.string().min(1), at: z.date().optional() });"],
  ["import * as z from 'zod' (classic, namespace)",
    "import * as z from 'zod'; export const s = z.object({ room: z.string(), text: z.string().min(1), at: z.date().optional() });"],
  ["import * as z from 'zod/mini' (the example's choice)",
    "import * as z from 'zod/mini'; export const s = z.object({ room: z.string(), text: z.string().check(z.minLength(1)), at: z.optional(z.date()) });"],
];

async function zodStyleBytes(): Promise<Array<[string, number]>> {
  const rows: Array<[string, number]> = [];
  for (const [name, contents] of ZOD_STYLES) {
    const result = await build({
      stdin: { contents, resolveDir: ROOT, loader: 'ts' },
      bundle: true,
      minify: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      write: false,
      logLevel: 'error',
    });
    rows.push([name, result.outputFiles[0].contents.byteLength]);
  }
  return rows;
}

export interface HandlerCost {
  readonly bundles: BundleFigures[];
  /** Bytes of one zod schema bundled alone, per import style. */
  readonly zodStyles: Array<[string, number]>;
  /** Cold require of the two SDK clients the handlers import, alone (what the external SDK costs). */
  readonly sdkOnlyInitMs: number[];
  /** CPU per `$default` message, on {@link HandlerCost.cpuNode}. */
  readonly cpu: MessageCpuRow[];
  /** The Node.js the CPU per message ran on, and why that one. */
  readonly cpuNode: { readonly version: string; readonly note: string };
  readonly publish: { subscribers: number; cpuUsPerMessage: number; wallUsPerMessage: number };
  readonly ping: { pings: number; pongs: number; dynamodbRequests: number; managementCalls: number; p50Ms: number; p95Ms: number };
}

async function measureBundles(runs: number): Promise<{ bundles: BundleFigures[]; sdkOnlyInitMs: number[] }> {
  mkdirSync(OUT_DIR, { recursive: true });
  const bundles: BundleFigures[] = [];
  for (const [name, external] of [['SDK v3 external (as deployed on nodejs22.x)', true], ['SDK v3 included', false]] as const) {
    const figures = await bundle(name, external);
    const initMs = Array.from({ length: runs }, () => coldRequireMs(figures.file));
    bundles.push({ ...figures, initMs });
  }
  const sdkFile = join(OUT_DIR, 'sdk-only.js');
  await build({
    stdin: { contents: "require('@aws-sdk/client-dynamodb');require('@aws-sdk/client-apigatewaymanagementapi');require('@aws-sdk/util-dynamodb');", resolveDir: ROOT },
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    outfile: sdkFile,
    external: ['@aws-sdk/*'],
    logLevel: 'error',
  });
  const sdkOnlyInitMs = Array.from({ length: runs }, () => coldRequireMs(sdkFile));
  return { bundles, sdkOnlyInitMs };
}

/**
 * CPU of the publisher per delivered message, with the memory store and a Management API client
 * whose HTTP handler answers 200 at once: the library and the SDK (serialization, SigV4 signing,
 * response parsing) without network or gateway. What bounds a publisher that is CPU-bound.
 */
async function publishCpu(subscribers: number, repetitions: number): Promise<HandlerCost['publish']> {
  let posts = 0;
  const management = new ApiGatewayManagementApiClient({
    endpoint: 'http://127.0.0.1:9/prod',
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: {
      handle: async () => {
        posts++;
        return { response: { statusCode: 200, headers: {}, body: Readable.from([]) } };
      },
    } as never,
  });
  const store = memory({ pageSize: 1000 });
  for (let i = 0; i < subscribers; i++) {
    const connectionId = `conn-${String(i).padStart(11, '0')}=`;
    await seedRoomSubscriber(store, connectionId, 'room');
  }
  const publisher = appSubscriptions.publisher({ endpoint: 'http://127.0.0.1:9/prod', store, managementClient: () => management, logger: silentLogger });
  const cpuSamples: number[] = [];
  const wallSamples: number[] = [];
  for (let rep = -1; rep < repetitions; rep++) {
    posts = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const data = { text: 'hello', at: new Date(), from: 'bench' };
    const result = await publisher.routes.onMessage.publish({ data, filter: { name: 'byRoom', input: { room: 'room' } } });
    const cpu = process.cpuUsage(cpu0);
    if (result.delivered !== subscribers || posts !== subscribers) throw new Error(`publish cpu: ${result.delivered} delivered, ${posts} posts`);
    if (rep < 0) continue;
    cpuSamples.push((cpu.user + cpu.system) / subscribers);
    wallSamples.push(((performance.now() - t0) * 1000) / subscribers);
  }
  management.destroy();
  return { subscribers, cpuUsPerMessage: median(cpuSamples), wallUsPerMessage: median(wallSamples) };
}

/** PINGs through the gateway with the DynamoDB store: counts DynamoDB and Management API requests. */
async function pingThroughGateway(env: BenchEnv, pings: number): Promise<HandlerCost['ping']> {
  const client = env.client();
  const meter = meterDynamoDB(client);
  const tableName = 'bench-ping';
  await createSubscriptionTable({ client, tableName });
  const store = dynamodb({ tableName, dynamoDBClient: client });
  let managementCalls = 0;
  const gateway = await startLocalGateway({
    handlers: exampleHandlers(store, env.logger),
    logger: silentLogger,
    faults: () => {
      managementCalls++;
      return undefined;
    },
  });
  const socket = new WebSocket(gateway.url);
  const times: number[] = [];
  let pongs = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    meter.reset();
    managementCalls = 0;
    for (let i = 0; i < pings; i++) {
      const t0 = performance.now();
      const pong = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('ping: no PONG within 5 s')), 5000);
        socket.once('message', (data) => {
          clearTimeout(timer);
          resolve(data.toString());
        });
      });
      socket.send('PING');
      if ((await pong) === 'PONG') pongs++;
      times.push(performance.now() - t0);
    }
    const reading = meter.read();
    return { pings, pongs, dynamodbRequests: reading.totalRequests, managementCalls, p50Ms: quantile(times, 0.5), p95Ms: quantile(times, 0.95) };
  } finally {
    socket.terminate();
    await gateway.close();
  }
}

/**
 * The `$default` CPU rows, measured in a child process on the Node.js of the construct's default
 * runtime (installed from npm under .cache/node): the V8 and the SDK that Lambda runs are what a
 * per-message budget is about. Falls back to the bench's own Node.js, and says so, when that one
 * cannot be installed.
 */
async function messageCpuOnLambdaNode(args: MessageCpuArgs): Promise<{ rows: MessageCpuRow[]; node: HandlerCost['cpuNode'] }> {
  const node = installLambdaNode();
  const { stdout } = await promisify(execFile)(node.path, ['--import', 'tsx', join(__dirname, '..', 'support', 'message-cpu.ts'), JSON.stringify(args)], {
    cwd: ROOT, encoding: 'utf8', timeout: 600_000, maxBuffer: 1_048_576, env: { ...process.env, NODE_OPTIONS: '' },
  });
  return { rows: JSON.parse(stdout) as MessageCpuRow[], node: { version: node.version, note: node.note } };
}

export async function runHandlerCost(env: BenchEnv): Promise<HandlerCost> {
  const { bundles, sdkOnlyInitMs } = await measureBundles(env.quick ? 3 : 7);
  const zodStyles = await zodStyleBytes();
  env.progress('  bundles and cold init measured');
  const cpuRun = await messageCpuOnLambdaNode({ endpoint: env.dynamodb.endpoint, count: env.quick ? 500 : 2000 });
  const publish = await publishCpu(env.quick ? 1000 : 5000, 3);
  env.progress('  CPU per message measured');
  const ping = await pingThroughGateway(env, env.quick ? 100 : 500);
  if (ping.pongs !== ping.pings) throw new Error(`ping: ${ping.pongs} PONG for ${ping.pings} PING`);
  return { bundles, zodStyles, sdkOnlyInitMs, cpu: cpuRun.rows, cpuNode: cpuRun.node, publish, ping };
}

export function renderHandlerCost(cost: HandlerCost): { markdown: string; budgets: Budget[] } {
  const [external] = cost.bundles;
  const groupNames = external.groups.map(([group]) => group);
  const bundleTable = table(
    ['bundle of example/handlers.ts from the sources, every role and feature (minified, cjs, node22)', 'bytes', 'cold require p50 ms', 'min ms', 'max ms', 'runs'],
    [
      ...cost.bundles.map((b) => [b.name, `${fmt(b.bytes, 0)} (${kb(b.bytes)})`, fmt(median(b.initMs)), fmt(Math.min(...b.initMs)), fmt(Math.max(...b.initMs)), String(b.initMs.length)]),
      ['the SDK clients alone (require of client-dynamodb, client-apigatewaymanagementapi, util-dynamodb)', '-', fmt(median(cost.sdkOnlyInitMs)),
        fmt(Math.min(...cost.sdkOnlyInitMs)), fmt(Math.max(...cost.sdkOnlyInitMs)), String(cost.sdkOnlyInitMs.length)],
    ],
  );
  const shareTable = table(
    ['part of the SDK-external bundle', 'bytes', 'share'],
    groupNames.map((group) => {
      const bytes = external.groups.find(([g]) => g === group)?.[1] ?? 0;
      return [group, `${fmt(bytes, 0)} (${kb(bytes)})`, `${fmt((100 * bytes) / external.bytes, 1)}%`];
    }),
  );
  const zodTable = table(['one zod schema bundled alone (minified)', 'bytes'], cost.zodStyles.map(([name, bytes]) => [name, `${fmt(bytes, 0)} (${kb(bytes)})`]));
  const cpuTable = table(
    ['store', '$default message', 'invocations', 'CPU µs/message', 'wall µs/message', 'floor: the same request bare, CPU µs', 'library beyond the floor, CPU µs'],
    [
      ...cost.cpu.map((row) => [
        row.store, row.kind, String(row.invocations), fmt(row.cpuUsPerMessage, 0), fmt(row.wallUsPerMessage, 0),
        row.floorCpuUsPerMessage === undefined ? '-' : fmt(row.floorCpuUsPerMessage, 0),
        row.floorCpuUsPerMessage === undefined ? '-' : fmt(row.cpuUsPerMessage - row.floorCpuUsPerMessage, 0),
      ]),
      ['memory', `publisher: one PostToConnection of a publish to ${fmt(cost.publish.subscribers, 0)} (SDK included, HTTP answered in-process)`,
        String(cost.publish.subscribers), fmt(cost.publish.cpuUsPerMessage, 0), fmt(cost.publish.wallUsPerMessage, 0), '-', '-'],
    ],
  );
  const p = cost.ping;
  const pingTable = table(
    ['PING through the gateway (DynamoDB store)', 'PONG answers', 'DynamoDB requests', 'Management API calls', 'round trip p50 ms', 'p95 ms'],
    [[String(p.pings), String(p.pongs), String(p.dynamodbRequests), String(p.managementCalls), fmt(p.p50Ms, 2), fmt(p.p95Ms, 2)]],
  );
  const initMs = median(external.initMs);
  const subscribeCpu = cost.cpu.find((row) => row.store.startsWith('dynamodb') && row.kind.startsWith('subscription start'));
  const budgets: Budget[] = [
    ...(subscribeCpu ? [[
      `\`$default\` CPU per subscribe (dynamodb store, onMessage with 2 filters, on Node.js ${cost.cpuNode.version}): < 1,000 µs`,
      `${fmt(subscribeCpu.cpuUsPerMessage, 0)} µs (its one bare request alone: ${fmt(subscribeCpu.floorCpuUsPerMessage ?? NaN, 0)} µs)`,
      subscribeCpu.cpuUsPerMessage < 1000,
    ] as const] : []),
    ['module init (cold require, SDK external): < 150 ms', `${fmt(initMs)} ms`, initMs < 150],
    ['PING answered by the route response, no DynamoDB or Management API call',
      `${p.pongs}/${p.pings} PONG, ${p.dynamodbRequests} DynamoDB requests, ${p.managementCalls} Management API calls`,
      p.pongs === p.pings && p.dynamodbRequests === 0 && p.managementCalls === 0],
  ];
  const cpuNote = `CPU per \`$default\` message in a process on Node.js ${cost.cpuNode.version} (${cost.cpuNode.note}), the handler called in-process, sequentially, after a warm-up; each DynamoDB message followed by its floor, the same rows written by one bare request from the same process with a plain client.`;
  return { markdown: [bundleTable, '', shareTable, '', zodTable, '', cpuNote, '', cpuTable, '', pingTable].join('\n'), budgets };
}
