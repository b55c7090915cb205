/**
 * 5. The handler bundle as a user gets it: the packed tarball installed in a fresh app (not the
 * repository's sources), the example's router and handlers file importing
 * `cdk-trpc-subscriptions/lambda`, bundled the way `TrpcSubscriptionApi` bundles (esbuild,
 * minified, CommonJS, AWS SDK v3 external). The ES module build of the package lets esbuild take
 * `@trpc/server` in one format (the ES module one a user's `import` picks), not both.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { createScratchApp, packageJson, packRepository, REPO_ROOT } from '../../scripts/scratch-app';
import type { Budget } from '../support/budget';
import type { BenchEnv } from '../support/env';
import { fmt, kb, table } from '../support/stats';

const BUNDLE_BUDGET_BYTES = 100 * 1024;

export interface PackedBundle {
  readonly bytes: number;
  /** Bytes in the output per package (and `app` for the example's own files). */
  readonly packages: Array<[string, number]>;
  /** The `@trpc/server` files in the bundle, per format (`esm`, `cjs`). */
  readonly trpcFormats: Record<string, number>;
  readonly versions: Record<string, string>;
}

function packageOf(path: string): string {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? 'app';
}

/** `@trpc/server` files by format: the ES module build is `dist/*.mjs`, the CommonJS one `dist/*.js`/`.cjs`. */
function trpcFormatOf(path: string): string {
  return path.endsWith('.mjs') ? 'esm' : 'cjs';
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
      app.write('handlers.ts', readFileSync(join(REPO_ROOT, 'example', 'handlers.ts'), 'utf8'));
      // The construct's bundling: NodejsFunction's esbuild call with the construct's defaults.
      const result = await build({
        absWorkingDir: app.dir,
        entryPoints: ['handlers.ts'],
        outfile: join(app.dir, 'out', 'index.js'),
        bundle: true,
        minify: true,
        platform: 'node',
        target: 'node24',
        format: 'cjs',
        external: ['@aws-sdk/*'],
        metafile: true,
        logLevel: 'error',
      });
      const output = Object.values((result.metafile as Metafile).outputs).find((o) => o.entryPoint !== undefined)!;
      const packages: Record<string, number> = {};
      const trpcFormats: Record<string, number> = {};
      for (const [path, input] of Object.entries(output.inputs)) {
        const pkg = packageOf(path);
        packages[pkg] = (packages[pkg] ?? 0) + input.bytesInOutput;
        if (pkg === '@trpc/server') {
          trpcFormats[trpcFormatOf(path)] = (trpcFormats[trpcFormatOf(path)] ?? 0) + 1;
        }
      }
      return { bytes: output.bytes, packages: Object.entries(packages).sort((a, b) => b[1] - a[1]), trpcFormats, versions };
    } finally {
      app.dispose();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function renderPackedBundle(figures: PackedBundle): { markdown: string; budgets: Budget[] } {
  const formats = Object.entries(figures.trpcFormats).map(([format, files]) => `${format} (${files} files)`).join(', ');
  const markdown = [
    `The example's handlers from the packed tarball in a fresh app (${Object.entries(figures.versions).map(([n, v]) => `${n}@${v}`).join(', ')}), `
      + 'bundled like the construct bundles (minified, cjs, node24, AWS SDK external). '
      + `@trpc/server in the bundle: ${formats}.`,
    '',
    table(['package in the bundle', 'bytes', 'share'], [
      ['total', `${fmt(figures.bytes, 0)} (${kb(figures.bytes)})`, '100%'],
      ...figures.packages.map(([pkg, bytes]) => [pkg, `${fmt(bytes, 0)} (${kb(bytes)})`, `${fmt((100 * bytes) / figures.bytes)}%`]),
    ]),
  ].join('\n');
  const budgets: Budget[] = [
    ['packed package: handler bundle, SDK external, minified: <= 100 KB', kb(figures.bytes), figures.bytes <= BUNDLE_BUDGET_BYTES],
    ['packed package: @trpc/server in one format', formats, Object.keys(figures.trpcFormats).length === 1],
  ];
  return { markdown, budgets };
}
