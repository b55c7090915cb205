/**
 * The ES module build of every package entry point, beside tsc's CommonJS build in lib/:
 * `lib/esm/<entry>.mjs` (shared code in `lib/esm/chunks/`, so the entry points share one copy of
 * each module) and `lib/esm/<entry>.d.mts`, which re-exports the CommonJS declarations.
 *
 * Why: a user's `import` of `@trpc/server` resolves to tRPC's ES module build; if this package
 * were CommonJS only, its `require` would add tRPC's CommonJS build to the same Lambda bundle.
 *
 * Run after `tsc` (projen's post-compile step): `npx projen build:esm`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildSync } from 'esbuild';

const ROOT = path.join(__dirname, '..');
const OUT_DIR = path.join(ROOT, 'lib', 'esm');

/** Entry points without extension, relative to the repository (as in package.json `exports`). */
export const ENTRY_POINTS = ['src/index', 'lambda/index', 'lambda/local/index', 'client/index'] as const;

fs.rmSync(OUT_DIR, { recursive: true, force: true });
buildSync({
  absWorkingDir: ROOT,
  entryPoints: ENTRY_POINTS.map((entry) => `${entry}.ts`),
  outdir: OUT_DIR,
  outbase: '.',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // package.json's engines floor.
  target: 'node22',
  // Dependencies and peers stay imports: the user's bundler picks their ES module builds.
  packages: 'external',
  logLevel: 'warning',
});

for (const entry of ENTRY_POINTS) {
  const declaration = path.join(OUT_DIR, `${entry}.d.mts`);
  const commonJs = path.relative(path.dirname(declaration), path.join(ROOT, 'lib', `${entry}.js`)).split(path.sep).join('/');
  fs.writeFileSync(declaration, `export * from '${commonJs}';\n`);
}
