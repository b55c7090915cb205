/**
 * Every file the package's package.json points at must exist: `main`, `types`, `module`, `bin`,
 * each condition of `exports` and each `typesVersions` path. `npm run prepack` (before every
 * `npm pack` and `npm publish`) runs it on the fresh build, and `npm run check:package` on the
 * extracted tarball, so no package whose `exports` lead nowhere (e.g. `lib/esm` never built)
 * leaves the repository.
 *
 * `tsx scripts/check-exports.ts [dir]` (default: the repository) prints what is missing and
 * exits 1, or prints how many paths it checked.
 */
import * as fs from 'fs';
import * as path from 'path';

interface PackageManifest {
  readonly main?: string;
  readonly types?: string;
  readonly module?: string;
  readonly bin?: string | Record<string, string>;
  readonly exports?: unknown;
  readonly typesVersions?: Record<string, Record<string, string[]>>;
}

/** Every path the manifest points at, with where it points from (`exports["./lambda"].import.types`). */
export function manifestTargets(manifest: PackageManifest): Array<{ field: string; target: string }> {
  const targets: Array<{ field: string; target: string }> = [];
  const add = (field: string, target: unknown) => {
    if (typeof target === 'string') targets.push({ field, target });
  };
  add('main', manifest.main);
  add('types', manifest.types);
  add('module', manifest.module);
  if (typeof manifest.bin === 'string') add('bin', manifest.bin);
  for (const [name, target] of Object.entries(typeof manifest.bin === 'object' ? manifest.bin : {})) add(`bin.${name}`, target);
  const walk = (field: string, node: unknown) => {
    if (typeof node === 'string') {add(field, node);} else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) walk(`${field}[${JSON.stringify(key)}]`, child);
    }
  };
  walk('exports', manifest.exports);
  for (const [range, paths] of Object.entries(manifest.typesVersions ?? {})) {
    for (const [subpath, targetsOfSubpath] of Object.entries(paths)) {
      targetsOfSubpath.forEach((target, index) => add(`typesVersions[${JSON.stringify(range)}][${JSON.stringify(subpath)}][${index}]`, target));
    }
  }
  return targets;
}

/** The manifest's paths that do not exist in `packageDir`, as `field -> target`. */
export function missingPackageFiles(packageDir: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as PackageManifest;
  return manifestTargets(manifest)
    .filter(({ target }) => !target.includes('*') && !fs.existsSync(path.join(packageDir, target)))
    .map(({ field, target }) => `${field} -> ${target}`);
}

if (require.main === module) {
  const dir = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
  const missing = missingPackageFiles(dir);
  if (missing.length > 0) {
    process.stderr.write(`package.json points at files that do not exist in ${dir} (build them first: npx projen compile && npx projen build:esm):\n  ${missing.join('\n  ')}\n`);
    process.exit(1);
  }
  // stderr: `npm pack --json` writes its report on stdout, and lifecycle scripts share it.
  process.stderr.write(`package.json: all ${manifestTargets(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))).length} paths exist in ${dir}\n`);
}
