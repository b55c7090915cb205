/**
 * The ES module build, beside tsc's CommonJS build in lib/: one `lib/esm/<module>.mjs` per source
 * module of src/ and lambda/ (the same module graph as the sources), and for each package entry
 * point a `lib/esm/<entry>.d.mts` that re-exports the CommonJS declarations.
 *
 * Why ES modules: a user's `import` of `@trpc/server` resolves to tRPC's ES module build; if this
 * package were CommonJS only, its `require` would add tRPC's CommonJS build to the same Lambda
 * bundle.
 *
 * Why one file per module (not one bundle per entry point): with `"sideEffects": false` in
 * package.json, the user's bundler drops every module a function does not reach, and with it
 * that module's imports of AWS SDK clients. In one bundled file, every `@aws-sdk/*` import of
 * the runtime would stay in every function (an external import is kept whenever its file is),
 * so `$connect` would load the Management API client it never calls (docs/runtime.md, "One
 * role per function").
 *
 * Run after `tsc` (projen's post-compile step): `npx projen build:esm`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { build, type Plugin } from 'esbuild';

const ROOT = path.join(__dirname, '..');
const OUT_DIR = path.join(ROOT, 'lib', 'esm');

/** Entry points without extension, relative to the repository (as in package.json `exports`). */
export const ENTRY_POINTS = ['src/index', 'lambda/index', 'lambda/local/index', 'client/index'] as const;

/** Every TypeScript module under `dir` (declarations excluded), relative to the repository. */
function modulesUnder(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    // The console page's browser sources ship as the string module they are bundled into.
    .filter((file) => !file.split(path.sep).join('/').startsWith('local/console/page/'))
    .map((file) => path.join(dir, file).split(path.sep).join('/'))
    .sort();
}

/**
 * Keeps each module in its own file: a relative import stays an import, of the `.mjs` file the
 * module becomes (Node.js resolves ES module imports only with their extension).
 */
const ownModules: Plugin = {
  name: 'own-modules',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^\.\.?(\/|$)/ }, ({ path: specifier, resolveDir, kind }) => {
      if (kind === 'entry-point') return undefined;
      const target = path.join(resolveDir, specifier);
      const file = fs.existsSync(`${target}.ts`) ? specifier : `${specifier}/index`;
      if (!fs.existsSync(`${path.join(resolveDir, file)}.ts`)) {
        throw new Error(`build-esm: cannot resolve ${specifier} from ${path.relative(ROOT, resolveDir)}`);
      }
      return { path: `${file}.mjs`, external: true };
    });
  },
};

async function main(): Promise<void> {
  fs.rmSync(OUT_DIR, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: [...modulesUnder('src'), ...modulesUnder('lambda'), ...modulesUnder('client')],
    outdir: OUT_DIR,
    outbase: '.',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    // package.json's engines floor.
    target: 'node22',
    // Dependencies and peers stay imports: the user's bundler picks their ES module builds.
    packages: 'external',
    plugins: [ownModules],
    logLevel: 'warning',
  });
  for (const entry of ENTRY_POINTS) {
    const declaration = path.join(OUT_DIR, `${entry}.d.mts`);
    const commonJs = path.relative(path.dirname(declaration), path.join(ROOT, 'lib', `${entry}.js`)).split(path.sep).join('/');
    fs.writeFileSync(declaration, `export * from '${commonJs}';\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
