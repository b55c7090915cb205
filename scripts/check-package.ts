/**
 * `npm run check:package` (run by `.ci/run`): the packed tarball, as a user installs it, at both
 * ends of every range it declares or meets. Two fresh apps:
 *
 * - **floor**: the LOWEST accepted aws-cdk-lib, constructs and @trpc/server (the
 *   peerDependencies floors), @trpc/client of the same version, TypeScript 5.7.2 (tRPC v11's
 *   floor) and esbuild at the floor of the package's own range;
 * - **latest**: the newest published aws-cdk-lib, constructs, @trpc/server and @trpc/client,
 *   TypeScript (7, the native compiler) and esbuild (within the package's range).
 *
 * In each it:
 *
 * 1. packs the repository after a bare `tsc` (the package's `prepack` must build the ES module
 *    build) and checks the tarball (an allow-list: compiled JavaScript and declarations, both
 *    builds of every entry point, no sources or source maps) and that every path its package.json
 *    points at exists;
 * 2. writes every ```ts block of README.md to the file its first line names (`// handlers.ts`)
 *    and type-checks them, plus an ES module file importing every entry point, with `strict`
 *    and `skipLibCheck: false` (the public types must resolve without dev dependencies);
 * 3. loads every entry point with `require` and with `import` in Node.js;
 * 4. synthesizes the README's CDK app (`cdk-app.ts`) with real esbuild bundling: every function
 *    on the default runtime (the newest Node.js runtime that aws-cdk-lib knows, at least 24);
 * 5. runs cdk-nag's AwsSolutions and Serverless packs on every mode of the construct
 *    (test/src/nag-modes.ts): cdk-nag 2 in both apps (with the lowest constructs cdk-nag accepts
 *    at the floor), and cdk-nag 3, which needs aws-cdk-lib 2.257, in the latest app.
 *
 * `--only floor|latest` runs one app; `--keep` leaves the apps in place (their paths are printed).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { missingPackageFiles } from './check-exports';
import { REPO_ROOT, compareVersions, createScratchApp, floorOf, packRepository, packageJson, run, type ScratchApp } from './scratch-app';

/** TypeScript's floor (tRPC v11 needs 5.7.2), stated in the README. */
const TYPESCRIPT_FLOOR = '5.7.2';
/** cdk-nag 3 reads acknowledgements through aws-cdk-lib's `Validations`: its peer floor. */
const CDK_NAG_3_CDK_FLOOR = '2.257.0';
/** The lowest constructs cdk-nag (2 and 3) accepts as a peer. */
const CDK_NAG_CONSTRUCTS_FLOOR = '10.5.1';
const ENTRY_POINTS = ['cdk-trpc-subscriptions', 'cdk-trpc-subscriptions/lambda', 'cdk-trpc-subscriptions/local', 'cdk-trpc-subscriptions/client'];
/** The files the modes' check needs in the app, at the same paths as in the repository. */
const NAG_FILES = ['test/src/nag-modes.ts', 'scripts/nag-modes-run.ts', 'test/fixtures/handlers/index.ts', 'test/fixtures/handlers/producer.ts'];

function step(message: string): void {
  process.stderr.write(`\n[check:package] ${message}\n`);
}

/** The ```ts blocks of a markdown file, each with the file name its first line gives. */
export function typeScriptBlocks(markdown: string): Array<{ file: string; code: string }> {
  const blocks = [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
  return blocks.map((code, index) => {
    const file = /^\/\/ ([\w.-]+\.m?ts)\b/.exec(code)?.[1];
    if (!file) {
      throw new Error(`README.md: TypeScript block ${index + 1} must start with its file name (// name.ts), got: ${code.split('\n')[0]}`);
    }
    return { file, code };
  });
}

/** The tarball holds compiled JavaScript and declarations only, both builds of every entry, and everything package.json names. */
function checkTarballContents(tarball: string): void {
  const files = run('tar', ['-tzf', tarball], REPO_ROOT, { capture: true }).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
  const problems: string[] = [];
  const allowed = /^(package\.json|README\.md|LICENSE|lib\/.+\.(js|mjs|d\.ts|d\.mts))$/;
  problems.push(...files.filter((file) => !allowed.test(file)).map((file) => `not allowed in the tarball: ${file}`));
  for (const entry of ['src/index', 'lambda/index', 'lambda/local/index', 'client/index']) {
    for (const file of [`lib/${entry}.js`, `lib/${entry}.d.ts`, `lib/esm/${entry}.mjs`, `lib/esm/${entry}.d.mts`]) {
      if (!files.includes(file)) {
        problems.push(`missing from the tarball: ${file}`);
      }
    }
  }
  const extracted = fs.mkdtempSync(path.join(os.tmpdir(), 'tarball-'));
  try {
    run('tar', ['-xzf', tarball, '-C', extracted], REPO_ROOT);
    problems.push(...missingPackageFiles(path.join(extracted, 'package')).map((missing) => `package.json points at a missing file: ${missing}`));
    for (const file of files.filter((f) => /\.m?js$/.test(f))) {
      if (fs.readFileSync(path.join(extracted, 'package', file), 'utf8').includes('sourceMappingURL')) {
        problems.push(`source map reference in ${file}`);
      }
    }
  } finally {
    fs.rmSync(extracted, { recursive: true, force: true });
  }
  if (problems.length > 0) {
    throw new Error(`tarball contents:\n  ${problems.join('\n  ')}`);
  }
  console.log(`tarball: ${files.length} files, ${(fs.statSync(tarball).size / 1024).toFixed(0)} KB packed; every export resolves`);
}

/** One end of the ranges: the versions the app installs (exact, or `latest`) and the cdk-nag majors it runs. */
interface Scenario {
  readonly name: 'floor' | 'latest';
  readonly versions: Record<string, string>;
  /** The default runtime's expected name, given the installed aws-cdk-lib. */
  readonly expectedRuntime: (app: ScratchApp) => string;
  /** Extra installs for cdk-nag (after the check of the README, which must not see them). */
  readonly nag: Record<string, string>;
}

function scenarios(): Scenario[] {
  const { peerDependencies, dependencies } = packageJson();
  const trpcFloor = floorOf(peerDependencies['@trpc/server']);
  const cdkFloor = floorOf(peerDependencies['aws-cdk-lib']);
  if (compareVersions(cdkFloor, CDK_NAG_3_CDK_FLOOR) >= 0) {
    throw new Error(`aws-cdk-lib's floor ${cdkFloor} now meets cdk-nag 3's (${CDK_NAG_3_CDK_FLOOR}): run cdk-nag 3 at the floor too`);
  }
  const shared = {
    // What the README's code and the scripts import besides the package and its peers.
    'zod': '^4.1.0',
    'ws': '^8.18.0',
    '@types/ws': '^8.18.0',
    '@types/node': '^22',
    'tsx': '^4.19.0',
  };
  return [
    {
      name: 'floor',
      versions: {
        ...shared,
        'aws-cdk-lib': cdkFloor,
        'constructs': floorOf(peerDependencies.constructs),
        '@trpc/server': trpcFloor,
        '@trpc/client': trpcFloor,
        'typescript': TYPESCRIPT_FLOOR,
        'esbuild': floorOf(dependencies.esbuild.split(' ')[0]),
      },
      // aws-cdk-lib 2.200 predates Node.js 24: the construct declares it by its identifier.
      expectedRuntime: () => 'nodejs24.x',
      nag: { 'constructs': CDK_NAG_CONSTRUCTS_FLOOR, 'cdk-nag-v2': 'npm:cdk-nag@^2' },
    },
    {
      name: 'latest',
      versions: {
        ...shared,
        'aws-cdk-lib': 'latest',
        'constructs': 'latest',
        '@trpc/server': 'latest',
        '@trpc/client': 'latest',
        'typescript': 'latest',
        // The newest the package's range accepts (a newer minor would need the range widened).
        'esbuild': dependencies.esbuild,
        '@types/node': 'latest',
      },
      expectedRuntime: newestDefaultRuntime,
      nag: { 'cdk-nag': 'latest', 'cdk-nag-v2': 'npm:cdk-nag@^2' },
    },
  ];
}

/** The newest `nodejsNN.x` runtime the app's aws-cdk-lib knows, at least nodejs24.x. */
function newestDefaultRuntime(app: ScratchApp): string {
  const newest = run('node', ['-p', [
    "const { Runtime } = require('aws-cdk-lib/aws-lambda');",
    'Math.max(24, ...Runtime.ALL.map((r) => /^nodejs(\\d+)\\.x$/.exec(r.name)).filter(Boolean).map((m) => Number(m[1])))',
  ].join(' ')], app.dir, { capture: true }).trim();
  return `nodejs${newest}.x`;
}

/** The installed version of each package the scenario names (what `latest` meant today). */
function installedVersions(app: ScratchApp, names: readonly string[]): string {
  return names.map((name) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(app.dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
    return `${name}@${manifest.version}`;
  }).join(', ');
}

function checkScenario(scenario: Scenario, tarball: string, keep: boolean): void {
  step(`${scenario.name}: installing the tarball with ${Object.entries(scenario.versions).map(([name, version]) => `${name}@${version}`).join(', ')}`);
  const app = createScratchApp(`${scenario.name}-app`, tarball, scenario.versions);
  try {
    console.log(`${scenario.name}: installed ${installedVersions(app, ['aws-cdk-lib', 'constructs', '@trpc/server', '@trpc/client', 'typescript', 'esbuild'])}, node ${process.version}`);

    step(`${scenario.name}: README TypeScript blocks and every entry point, type-checked with skipLibCheck: false`);
    const blocks = typeScriptBlocks(fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
    for (const block of blocks) {
      app.write(block.file, block.code);
    }
    console.log(`README blocks: ${blocks.map((b) => b.file).join(', ')}`);
    app.write('entry-points.mts', [
      "import { PublisherFunction, TrpcSubscriptionApi } from 'cdk-trpc-subscriptions';",
      "import { initSubscriptions, type Logger } from 'cdk-trpc-subscriptions/lambda';",
      "import { startLocalGateway, type LambdaStyleHandler } from 'cdk-trpc-subscriptions/local';",
      'export const used: unknown[] = [PublisherFunction, TrpcSubscriptionApi, initSubscriptions, startLocalGateway];',
      'export type Used = [Logger, LambdaStyleHandler];',
      '',
    ].join('\n'));
    app.write('tsconfig.json', `${JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'node16',
        moduleResolution: 'node16',
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        esModuleInterop: true,
        types: ['node'],
      },
      include: ['*.ts', '*.mts'],
    }, null, 2)}\n`);
    console.log(run('npx', ['tsc', '--version'], app.dir, { capture: true }).trim());
    run('npx', ['tsc', '-p', '.'], app.dir);

    step(`${scenario.name}: loading every entry point with require() and import()`);
    const names = JSON.stringify(ENTRY_POINTS);
    run('node', ['-e', `for (const name of ${names}) { if (Object.keys(require(name)).length === 0) throw new Error(name + ': no exports'); }`], app.dir);
    run('node', ['--input-type=module', '-e', `for (const name of ${names}) { const m = await import(name); if (Object.keys(m).length === 0) throw new Error(name + ': no exports'); }`], app.dir);

    step(`${scenario.name}: synthesizing the README's CDK app, bundled by esbuild ${installedVersions(app, ['esbuild'])}`);
    synthesizeReadmeApp(app, scenario.expectedRuntime(app));

    step(`${scenario.name}: cdk-nag on every mode (${Object.entries(scenario.nag).map(([name, version]) => `${name}@${version}`).join(', ')})`);
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...Object.entries(scenario.nag).map(([name, version]) => `${name}@${version}`)], app.dir);
    for (const file of NAG_FILES) {
      app.write(file, fs.readFileSync(path.join(REPO_ROOT, file), 'utf8'));
    }
    // test/src/nag-modes.ts imports the construct from `../../src`: here, the packed package.
    app.write('src/index.ts', "export * from 'cdk-trpc-subscriptions';\n");
    const majors = Object.keys(scenario.nag).filter((name) => name.startsWith('cdk-nag'));
    console.log(`cdk-nag: ${installedVersions(app, majors)}`);
    run('npx', ['tsx', 'scripts/nag-modes-run.ts', ...majors], app.dir);
    step(`${scenario.name}: passed`);
  } finally {
    if (keep) {
      console.log(`scratch app kept: ${app.dir}`);
    } else {
      app.dispose();
    }
  }
}

/**
 * `cdk-app.ts` with real bundling: five functions (three handlers, the rollover, the producer) on
 * the default runtime, and, where aws-cdk-lib validates templates (2.278 on), no finding.
 */
function synthesizeReadmeApp(app: ScratchApp, expectedRuntime: string): void {
  const outdir = path.join(app.dir, 'cdk.out');
  run('npx', ['tsx', 'cdk-app.ts'], app.dir, { env: { CDK_OUTDIR: outdir } });
  const templates = fs.readdirSync(outdir).filter((file) => file.endsWith('.template.json'));
  const resources = templates.flatMap((file) => Object.values(JSON.parse(fs.readFileSync(path.join(outdir, file), 'utf8')).Resources ?? {}) as Array<{ Type: string; Properties: { Runtime?: string } }>);
  const functions = resources.filter((r) => r.Type === 'AWS::Lambda::Function');
  if (functions.length !== 5 || functions.some((f) => f.Properties.Runtime !== expectedRuntime)) {
    throw new Error(`expected 5 functions on ${expectedRuntime} (3 handlers, the rollover, the producer), got: ${functions.map((f) => f.Properties.Runtime).join(', ')}`);
  }
  const reportFile = path.join(outdir, 'validation-report.json');
  if (fs.existsSync(reportFile)) {
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as { pluginReports: Array<{ pluginName: string; violations: Array<{ ruleName: string; description: string }> }> };
    const violations = report.pluginReports.flatMap((r) => r.violations.map((v) => `${r.pluginName} ${v.ruleName}: ${v.description}`));
    if (violations.length > 0) throw new Error(`aws-cdk-lib's template validation:\n  ${violations.join('\n  ')}`);
  }
  console.log(`synthesized ${templates.join(', ')}: ${resources.length} resources, ${functions.length} functions on ${expectedRuntime}`
    + `${fs.existsSync(reportFile) ? ', template validation clean' : ''}`);
}

function main(): void {
  const keep = process.argv.includes('--keep');
  const onlyIndex = process.argv.indexOf('--only');
  const only = onlyIndex >= 0 ? process.argv[onlyIndex + 1] : undefined;
  const selected = scenarios().filter((scenario) => only === undefined || scenario.name === only);
  if (selected.length === 0) throw new Error(`--only must be floor or latest, got: ${only}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-trpc-subscriptions-pack-'));
  try {
    step('packing after a bare tsc (prepack builds the rest)');
    const tarball = packRepository(work);
    checkTarballContents(tarball);
    for (const scenario of selected) {
      const started = Date.now();
      checkScenario(scenario, tarball, keep);
      console.log(`${scenario.name}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main();
}
