/**
 * 6. The functions as a user deploys them: the packed tarball installed in a fresh app (not the
 * repository's sources), the example's router and handlers file importing
 * `cdk-trpc-subscriptions/lambda`, each function bundled the way `TrpcSubscriptionApi` bundles it
 * (esbuild, minified, CommonJS, node24, AWS SDK v3 external, external source map, the function's
 * role defined, and the example stack's `bundleFeatures`). Per function: bytes by package, own
 * init, and cold start against a bare handler; the size of each also with every feature kept
 * (the construct's default), for an app with presence routes and lifecycle hooks.
 * The ES module build of the package lets esbuild take `@trpc/server` in one format (the ES
 * module one a user's `import` picks), not both.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { EXAMPLE_BUNDLE_FEATURES } from '../../example/bundle-features';
import { FUNCTION_ROLES, type FunctionRole } from '../../lambda/constants';
import { createScratchApp, packageJson, packRepository, REPO_ROOT } from '../../scripts/scratch-app';
import { roleBundling } from '../../src/role-bundling';
import type { BundleFeatures } from '../../src/trpc-subscription-api-props';
import { startDynamoDBRecorder, startManagementRecorder } from '../support/aws-recorders';
import type { Budget } from '../support/budget';
import { COLD_START_SCENARIOS, coldStartPair, type ColdRun } from '../support/cold-start';
import type { BenchEnv } from '../support/env';
import { installLambdaNode, lambdaNodeMajor, type LambdaNode } from '../support/lambda-node';
import { fmt, kb, median, ratio, table } from '../support/stats';

/** Bytes per function (issue 24). */
const BUNDLE_BUDGETS: Readonly<Record<FunctionRole, number>> = {
  connect: 60 * 1024, message: 100 * 1024, disconnect: 60 * 1024, rollover: 60 * 1024, worker: 110 * 1024,
};
/**
 * Every role in one bundle (`bundlePerRole: false`): issue 10's handler bundle, judged here on the
 * packed package as users bundle it (section 3 measures the repository's sources, which differ).
 */
const EVERY_ROLE_BUDGET = 150 * 1024;
/** Own init: cold require minus the SDK packages the role needs, in ms. */
const OWN_INIT_BUDGET_MS = 60;
/** First invocation against the bare handler's. */
const COLD_START_BUDGET = 1.2;
/** The packages every table shows, in this order; the rest are summed under "other". */
const PACKAGE_COLUMNS = ['cdk-trpc-subscriptions', '@trpc/server', 'superjson', 'zod', 'app'] as const;

/**
 * The parts of the library's own share, by module of `lambda/` (first match wins): what a role
 * carries, and where a smaller bundle would have to come from.
 */
const LIBRARY_PARTS: ReadonlyArray<readonly [part: string, modules: RegExp]> = [
  ['builder and config (loaded by every function)', /^(app|core)\/|^util\/(route-proxy|guards)$|^constants$/],
  ['logging and metrics', /^util\/(logger|log-context|emf)$|^metric-names$|^handlers\/instrument$/],
  ['handler and protocol', /^handlers\/|^protocol\//],
  ['store (DynamoDB requests, keys, deadline)', /^store\/|^util\/(deadline|backoff|pool|merge)$/],
  ['publisher and Management API', /^(publisher|management|queue)\/|^util\/(lanes|rate-gate)$/],
  ['fan-out worker', /^worker\//],
];

/** The part of the library a file of the package's ES module build belongs to (`other` when none matches). */
function libraryPartOf(path: string): string | undefined {
  const module = /cdk-trpc-subscriptions\/lib\/esm\/lambda\/(.+)\.mjs$/.exec(path)?.[1];
  if (module === undefined) return undefined;
  return LIBRARY_PARTS.find(([, modules]) => modules.test(module))?.[0] ?? 'other';
}

/** One function's bundle. */
export interface FunctionBundle {
  /** A role, or `every role` (`bundlePerRole: false`). */
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  /** Bytes in the output per package (and `app` for the example's own files). */
  readonly packages: Record<string, number>;
  /** The library's bytes in the output per part ({@link LIBRARY_PARTS}). */
  readonly libraryParts: Record<string, number>;
  /** The `@aws-sdk/*` packages the bundle requires (external). */
  readonly sdkRequires: string[];
  /** The `@trpc/server` files in the bundle, per format (`esm`, `cjs`). */
  readonly trpcFormats: Record<string, number>;
}

/** The cold starts of one function and of its floor. */
export interface FunctionColdStart {
  readonly role: FunctionRole;
  readonly description: string;
  readonly sdkPackages: readonly string[];
  readonly library: ColdRun[];
  readonly floor: ColdRun[];
  readonly dynamodbRequests: number;
  readonly managementCalls: number;
}

export interface PackedBundle {
  /** Each function as the example stack deploys it ({@link EXAMPLE_BUNDLE_FEATURES}). */
  readonly functions: FunctionBundle[];
  /** Each function with every feature kept (`bundleFeatures` unset). */
  readonly everyFeature: FunctionBundle[];
  readonly everyRole: FunctionBundle;
  readonly cold: FunctionColdStart[];
  /** The Node.js the cold starts ran on. */
  readonly node: LambdaNode;
  readonly versions: Record<string, string>;
}

function packageOf(path: string): string {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? 'app';
}

/** `@trpc/server` files by format: the ES module build is `dist/*.mjs`, the CommonJS one `dist/*.js`/`.cjs`. */
function trpcFormatOf(path: string): string {
  return path.endsWith('.mjs') ? 'esm' : 'cjs';
}

/**
 * The construct's bundling of one function (NodejsFunction's esbuild call with the construct's
 * defaults, its role and `features`: `roleBundling`'s defines).
 */
async function bundleFunction(appDir: string, name: string, role: FunctionRole | undefined, features: BundleFeatures): Promise<FunctionBundle> {
  const file = join(appDir, 'out', name.replace(/\W+/g, '-'), 'index.js');
  const result = await build({
    absWorkingDir: appDir,
    entryPoints: ['handlers.ts'],
    outfile: file,
    bundle: true,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    platform: 'node',
    // NodejsFunction's target: the runtime's Node.js major.
    target: `node${lambdaNodeMajor()}`,
    format: 'cjs',
    external: ['@aws-sdk/*'],
    define: roleBundling(role ?? 'message', undefined, role !== undefined, features).define ?? {},
    metafile: true,
    logLevel: 'error',
  });
  const output = Object.values((result.metafile as Metafile).outputs).find((o) => o.entryPoint !== undefined)!;
  const packages: Record<string, number> = {};
  const libraryParts: Record<string, number> = {};
  const trpcFormats: Record<string, number> = {};
  for (const [path, input] of Object.entries(output.inputs)) {
    const pkg = packageOf(path);
    packages[pkg] = (packages[pkg] ?? 0) + input.bytesInOutput;
    const part = libraryPartOf(path);
    if (part !== undefined) libraryParts[part] = (libraryParts[part] ?? 0) + input.bytesInOutput;
    if (pkg === '@trpc/server' && input.bytesInOutput > 0) trpcFormats[trpcFormatOf(path)] = (trpcFormats[trpcFormatOf(path)] ?? 0) + 1;
  }
  const code = readFileSync(file, 'utf8');
  const sdkRequires = [...new Set([...code.matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map((match) => match[1]))].sort();
  return { name, file, bytes: output.bytes, packages, libraryParts, sdkRequires, trpcFormats };
}

export async function runPackedBundle(env: BenchEnv): Promise<PackedBundle> {
  const work = mkdtempSync(join(tmpdir(), 'bench-pack-'));
  try {
    env.progress('  packing the repository');
    const tarball = packRepository(work);
    const { devDependencies } = packageJson();
    const versions = {
      '@trpc/server': devDependencies['@trpc/server'],
      'zod': devDependencies.zod,
      'superjson': devDependencies.superjson,
    };
    env.progress('  installing the tarball into a fresh app');
    const app = createScratchApp('bench-bundle-app', tarball, versions);
    try {
      const router = readFileSync(join(REPO_ROOT, 'example', 'app-router.ts'), 'utf8').replace(/from '\.\.\/lambda'/g, "from 'cdk-trpc-subscriptions/lambda'");
      app.write('app-router.ts', router);
      // The example's handlers plus the fan-out worker (what `queuedFanOut` deploys).
      app.write('handlers.ts', `${readFileSync(join(REPO_ROOT, 'example', 'handlers.ts'), 'utf8')}
/** The fan-out worker (\`queuedFanOut\`). */
export const worker = appSubscriptions.worker();
`);
      mkdirSync(join(app.dir, 'out'), { recursive: true });
      const functions: FunctionBundle[] = [];
      const everyFeature: FunctionBundle[] = [];
      for (const role of FUNCTION_ROLES) {
        functions.push(await bundleFunction(app.dir, role, role, EXAMPLE_BUNDLE_FEATURES));
        everyFeature.push(await bundleFunction(app.dir, `${role}, every feature`, role, {}));
      }
      const everyRole = await bundleFunction(app.dir, 'every role', undefined, EXAMPLE_BUNDLE_FEATURES);
      env.progress('  bundled each function; installing the Lambda runtime\'s Node.js');
      const node = installLambdaNode();
      const cold = await measureColdStarts(env, app.dir, node, functions, env.quick ? 3 : 11);
      return { functions, everyFeature, everyRole, cold, node, versions };
    } finally {
      app.dispose();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Per role: one warm-up pair (not counted: the file cache), then `runs` pairs of library and floor cold starts. */
async function measureColdStarts(
  env: BenchEnv, appDir: string, node: LambdaNode, functions: readonly FunctionBundle[], runs: number,
): Promise<FunctionColdStart[]> {
  const dynamodbRecorder = await startDynamoDBRecorder(env.dynamodb.endpoint);
  const managementRecorder = await startManagementRecorder();
  const shared = { appDir, node: node.path, client: env.client(), dynamodbRecorder, managementRecorder };
  try {
    const results: FunctionColdStart[] = [];
    for (const scenario of COLD_START_SCENARIOS) {
      const bundle = functions.find((fn) => fn.name === scenario.role)!;
      const library: ColdRun[] = [];
      const floor: ColdRun[] = [];
      let requests: Awaited<ReturnType<typeof coldStartPair>>['requests'] = [];
      for (let i = -1; i < runs; i++) {
        const pair = await coldStartPair(shared, scenario, bundle.file);
        requests = pair.requests;
        if (i < 0) continue;
        library.push(pair.library);
        floor.push(pair.floor);
      }
      env.progress(`  cold start of ${scenario.role}: ${fmt(median(library.map((r) => r.totalMs)))} ms vs ${fmt(median(floor.map((r) => r.totalMs)))} ms`);
      results.push({
        role: scenario.role,
        description: scenario.description,
        sdkPackages: scenario.sdkPackages,
        library,
        floor,
        dynamodbRequests: requests.filter((request) => request.service === 'dynamodb').length,
        managementCalls: requests.filter((request) => request.service === 'management').length,
      });
    }
    return results;
  } finally {
    await dynamodbRecorder.close();
    await managementRecorder.close();
  }
}

/** The median of one figure of the runs. */
const medianOf = (runs: readonly ColdRun[], figure: keyof ColdRun) => median(runs.map((run) => run[figure]));
/** Own init: CPU of the bundle's require minus CPU of the SDK packages' require (the floor's). */
const ownInitOf = (cold: FunctionColdStart) => medianOf(cold.library, 'requireCpuMs') - medianOf(cold.floor, 'requireCpuMs');

export function renderPackedBundle(figures: PackedBundle): { markdown: string; budgets: Budget[] } {
  const all = [...figures.functions, ...figures.everyFeature, figures.everyRole];
  const formats = [...new Set(all.flatMap((fn) => Object.keys(fn.trpcFormats)))];
  const bytesCell = (bytes: number | undefined) => (bytes === undefined || bytes === 0 ? '-' : kb(bytes));
  const sizeTable = table(
    ['function (its role only)', 'total', ...PACKAGE_COLUMNS, 'other', 'AWS SDK packages it requires'],
    all.map((fn) => {
      const other = Object.entries(fn.packages)
        .filter(([pkg]) => !(PACKAGE_COLUMNS as readonly string[]).includes(pkg))
        .reduce((sum, [, bytes]) => sum + bytes, 0);
      const name = fn === figures.everyRole ? 'every role in one bundle (`bundlePerRole: false`)' : fn.name;
      return [name, `${fmt(fn.bytes, 0)} (${kb(fn.bytes)})`, ...PACKAGE_COLUMNS.map((pkg) => bytesCell(fn.packages[pkg])), bytesCell(other),
        fn.sdkRequires.map((pkg) => pkg.replace('@aws-sdk/', '')).join(', ')];
    }),
  );
  const parts = [...LIBRARY_PARTS.map(([part]) => part), 'other'];
  const partsTable = table(
    ['function', 'cdk-trpc-subscriptions', ...parts],
    all.map((fn) => [fn === figures.everyRole ? 'every role in one bundle' : fn.name, bytesCell(fn.packages['cdk-trpc-subscriptions']),
      ...parts.map((part) => bytesCell(fn.libraryParts[part]))]),
  );
  const coldCpuTable = table(
    ['function', 'first event', 'requests (DynamoDB + Management API)', 'library: require', 'first event', 'total',
      'floor: SDK require', 'clients + requests', 'total', 'cold start vs floor', 'own init'],
    figures.cold.map((cold) => [
      cold.role, cold.description, `${cold.dynamodbRequests} + ${cold.managementCalls}`,
      fmt(medianOf(cold.library, 'requireCpuMs')), fmt(medianOf(cold.library, 'eventCpuMs')), fmt(medianOf(cold.library, 'totalCpuMs')),
      fmt(medianOf(cold.floor, 'requireCpuMs')), fmt(medianOf(cold.floor, 'eventCpuMs')), fmt(medianOf(cold.floor, 'totalCpuMs')),
      ratio(medianOf(cold.library, 'totalCpuMs'), medianOf(cold.floor, 'totalCpuMs'), 2), fmt(ownInitOf(cold)),
    ]),
  );
  const coldWallTable = table(
    ['function', 'library: require', 'first event', 'total', 'floor: SDK require', 'clients + requests', 'total', 'cold start vs floor'],
    figures.cold.map((cold) => [
      cold.role,
      fmt(medianOf(cold.library, 'requireMs')), fmt(medianOf(cold.library, 'eventMs')), fmt(medianOf(cold.library, 'totalMs')),
      fmt(medianOf(cold.floor, 'requireMs')), fmt(medianOf(cold.floor, 'eventMs')), fmt(medianOf(cold.floor, 'totalMs')),
      ratio(medianOf(cold.library, 'totalMs'), medianOf(cold.floor, 'totalMs'), 2),
    ]),
  );
  const runs = figures.cold[0]?.library.length ?? 0;
  const markdown = [
    `The example's handlers (plus \`worker\`) from the packed tarball in a fresh app (${Object.entries(figures.versions).map(([n, v]) => `${n}@${v}`).join(', ')}), `
      + 'each function bundled like the construct bundles it (minified, cjs, the runtime\'s node target, AWS SDK external, external source map, '
      + `its role defined) with the example stack's \`bundleFeatures\` (${JSON.stringify(EXAMPLE_BUNDLE_FEATURES)}: it has no presence route, no `
      + 'lifecycle hooks and no event history, and runs in one Region); the rows "every feature" are the same functions with `bundleFeatures` unset, '
      + 'as an app with presence, hooks, a history and Regions gets them. '
      + `@trpc/server in the bundles: ${formats.join(', ')} build.`,
    '',
    sizeTable,
    '',
    'The library\'s share by part (its modules under `lambda/`, bytes in the output):',
    '',
    partsTable,
    '',
    'Cold start: a fresh Node.js process requires the function\'s bundle and handles its first event (DynamoDB Local and a Management API on '
      + 'loopback, `NODE_OPTIONS=--enable-source-maps` as the construct sets it), against a bare handler in a fresh process that requires the SDK '
      + 'packages the role needs, creates the clients and sends the same requests (recorded, replayed in order on a twin table). '
      + `Node.js ${figures.node.version}: ${figures.node.note}. Medians of ${runs} runs each, after one warm-up. In CPU time of the process (user + system, ms): the budgets' measure, because both `
      + 'sides wait the same for the same requests, so the ratio of CPU times bounds the ratio of wall times from above, and on a shared '
      + 'machine wall time mostly measures the wait for a core. Own init: CPU of the bundle\'s require minus CPU of the SDK packages\' require.',
    '',
    coldCpuTable,
    '',
    'The same runs in wall-clock ms:',
    '',
    coldWallTable,
  ].join('\n');
  const budgets: Budget[] = [
    ...figures.functions.map((fn): Budget => {
      const budget = BUNDLE_BUDGETS[fn.name as FunctionRole];
      return [`packed package: ${fn.name} function bundle <= ${budget / 1024} KB`, kb(fn.bytes), fn.bytes <= budget];
    }),
    ['packed package: every role in one bundle (`bundlePerRole: false`), SDK external, minified: < 150 KB',
      kb(figures.everyRole.bytes), figures.everyRole.bytes < EVERY_ROLE_BUDGET],
    ['packed package: @trpc/server in one format', formats.join(', '), formats.length === 1],
    ...figures.cold.map((cold): Budget => [
      `${cold.role}: own init (require minus the SDK it needs, CPU) <= ${OWN_INIT_BUDGET_MS} ms`, `${fmt(ownInitOf(cold))} ms`, ownInitOf(cold) <= OWN_INIT_BUDGET_MS,
    ]),
    ...figures.cold.map((cold): Budget => {
      const library = medianOf(cold.library, 'totalCpuMs');
      const floor = medianOf(cold.floor, 'totalCpuMs');
      return [`${cold.role}: cold start (require + first event, CPU) <= ${COLD_START_BUDGET}x a bare handler's`,
        `${fmt(library)} ms vs ${fmt(floor)} ms: ${ratio(library, floor, 2)}`, library <= COLD_START_BUDGET * floor];
    }),
  ];
  return { markdown, budgets };
}
