/**
 * `npm run check:package` (run by `.ci/run`): the packed tarball, as a user installs it, with the
 * LOWEST versions the package accepts of aws-cdk-lib, constructs and @trpc/server (its
 * peerDependencies floors) and TypeScript 5.7.2. In a fresh app it:
 *
 * 1. checks the tarball's contents (an allow-list: compiled JavaScript and declarations, both
 *    builds of every entry point, no sources, no source maps, no cdk.json);
 * 2. writes every ```ts block of README.md to the file its first line names (`// handlers.ts`)
 *    and type-checks them, plus an ES module file importing every entry point, with
 *    `strict` and `skipLibCheck: false` (the public types must resolve without dev dependencies);
 * 3. loads every entry point with `require` and with `import` in Node.js;
 * 4. synthesizes the README's CDK app (`cdk-app.ts`): the construct, real esbuild bundling of
 *    the README's handlers and producer.
 *
 * `--keep` leaves the app in place (its path is printed).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT, createScratchApp, floorOf, packRepository, packageJson, run } from './scratch-app';

/** TypeScript's floor (tRPC v11 needs 5.7.2), stated in the README. */
const TYPESCRIPT_FLOOR = '5.7.2';
const ENTRY_POINTS = ['cdk-trpc-subscriptions', 'cdk-trpc-subscriptions/lambda', 'cdk-trpc-subscriptions/local', 'cdk-trpc-subscriptions/client'];

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

/** The tarball holds compiled JavaScript and declarations only, both builds of every entry. */
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
  console.log(`tarball: ${files.length} files, ${(fs.statSync(tarball).size / 1024).toFixed(0)} KB packed`);
}

function main(): void {
  const keep = process.argv.includes('--keep');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-trpc-subscriptions-pack-'));
  step('building and packing');
  const tarball = packRepository(work);
  checkTarballContents(tarball);

  const { peerDependencies } = packageJson();
  const floors = {
    'aws-cdk-lib': floorOf(peerDependencies['aws-cdk-lib']),
    'constructs': floorOf(peerDependencies.constructs),
    '@trpc/server': floorOf(peerDependencies['@trpc/server']),
  };
  step(`installing the tarball with the floors: ${Object.entries(floors).map(([name, version]) => `${name}@${version}`).join(', ')}, typescript@${TYPESCRIPT_FLOOR}`);
  const app = createScratchApp('floor-app', tarball, {
    ...floors,
    '@trpc/client': floors['@trpc/server'],
    'typescript': TYPESCRIPT_FLOOR,
    // What the README's code imports besides the package and its peers.
    'zod': '^4.1.0',
    'ws': '^8.18.0',
    '@types/ws': '^8.18.0',
    '@types/node': '^20',
    'tsx': '^4.19.0',
  });
  try {
    step('README TypeScript blocks and every entry point, type-checked with skipLibCheck: false');
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
    run('npx', ['tsc', '-p', '.'], app.dir);

    step('loading every entry point with require() and import()');
    const names = JSON.stringify(ENTRY_POINTS);
    run('node', ['-e', `for (const name of ${names}) { if (Object.keys(require(name)).length === 0) throw new Error(name + ': no exports'); }`], app.dir);
    run('node', ['--input-type=module', '-e', `for (const name of ${names}) { const m = await import(name); if (Object.keys(m).length === 0) throw new Error(name + ': no exports'); }`], app.dir);

    step(`synthesizing the README's CDK app with aws-cdk-lib@${floors['aws-cdk-lib']}`);
    run('npx', ['tsx', 'cdk-app.ts'], app.dir, { env: { CDK_OUTDIR: path.join(app.dir, 'cdk.out') } });
    const templates = fs.readdirSync(path.join(app.dir, 'cdk.out')).filter((file) => file.endsWith('.template.json'));
    const resources = templates.flatMap((file) => Object.values(JSON.parse(fs.readFileSync(path.join(app.dir, 'cdk.out', file), 'utf8')).Resources ?? {}) as Array<{ Type: string; Properties: { Runtime?: string } }>);
    const functions = resources.filter((r) => r.Type === 'AWS::Lambda::Function');
    if (functions.length !== 5 || functions.some((f) => f.Properties.Runtime !== 'nodejs24.x')) {
      throw new Error(`expected 5 Node.js 24 functions (3 handlers, the rollover, the producer), got: ${functions.map((f) => f.Properties.Runtime).join(', ')}`);
    }
    console.log(`synthesized ${templates.join(', ')}: ${resources.length} resources, ${functions.length} functions on nodejs24.x`);
    step('passed');
  } finally {
    if (keep) {
      console.log(`scratch app kept: ${app.dir}`);
    } else {
      app.dispose();
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main();
}
