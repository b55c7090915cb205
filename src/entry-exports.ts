import * as path from 'path';
import { buildSync } from 'esbuild';

/** The handler exports a handlers module lacks, and the names it does export. */
export interface HandlerExportsCheck {
  /** Required names the module does not export, in the order asked. */
  readonly missing: string[];
  /** Every name the module exports, sorted. */
  readonly found: string[];
}

/**
 * Reads which names the ES module `entry` exports, statically (esbuild resolves the module's
 * own files and re-exports; packages stay external and no code runs), and returns the `required`
 * names among them that are missing.
 *
 * @returns `undefined` when the exports cannot be known statically: a CommonJS module, an
 * `export *` from a package, or a module esbuild cannot build (the bundling step reports that)
 */
export function findMissingHandlerExports(entry: string, required: readonly string[]): HandlerExportsCheck | undefined {
  let result;
  try {
    result = buildSync({
      entryPoints: [entry],
      absWorkingDir: path.dirname(entry),
      outdir: path.join(path.dirname(entry), '.exports-check'),
      bundle: true,
      packages: 'external',
      format: 'esm',
      platform: 'node',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
  } catch {
    return undefined;
  }
  const [[, output]] = Object.entries(result.metafile.outputs);
  const entryFormat = output.entryPoint === undefined ? undefined : result.metafile.inputs[output.entryPoint]?.format;
  const starFromPackage = result.outputFiles.some((file) => /^export \* from /m.test(file.text));
  if (entryFormat === 'cjs' || starFromPackage) {
    return undefined;
  }
  const found = [...output.exports].sort();
  return { missing: required.filter((name) => !found.includes(name)), found };
}
