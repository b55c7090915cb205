import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { manifestTargets, missingPackageFiles } from '../../scripts/check-exports';

const ROOT = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** A package directory with the repository's package.json and only the given files (empty). */
function packageWith(files: readonly string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-exports-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest));
  for (const file of files.filter((f) => path.normalize(f) !== 'package.json')) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), '');
  }
  return dir;
}

describe('a pack or publish never leaves without the ES module build', () => {
  test('GIVEN the package WHEN npm packs or publishes THEN prepack first builds both formats from scratch and checks every export', () => {
    const tasks = JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8')).tasks;

    expect(manifest.scripts.prepack).toBe('projen prepack');
    expect(tasks.prepack.steps).toEqual([
      { exec: expect.stringContaining("rmSync('lib'") },
      { spawn: 'compile' },
      { spawn: 'build:esm' },
      { spawn: 'check:exports' },
    ]);
    expect(tasks['check:exports'].steps).toEqual([{ exec: 'tsx scripts/check-exports.ts' }]);
  });

  test('GIVEN only tsc\'s CommonJS build WHEN checked THEN every ES module path of exports is reported', () => {
    const commonJsOnly = manifestTargets(manifest).map((t) => t.target).filter((target) => !target.includes('/esm/'));
    const dir = packageWith(commonJsOnly);
    try {
      const missing = missingPackageFiles(dir);

      expect(missing).toEqual(expect.arrayContaining([
        'module -> ./lib/esm/src/index.mjs',
        'exports["./lambda"]["import"]["default"] -> ./lib/esm/lambda/index.mjs',
        'exports["./local"]["import"]["types"] -> ./lib/esm/lambda/local/index.d.mts',
      ]));
      expect(missing.every((line) => line.includes('/esm/'))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('GIVEN both builds WHEN checked THEN nothing is missing, and every entry point and the bin were checked', () => {
    const targets = manifestTargets(manifest).map((t) => t.target);
    const dir = packageWith(targets);
    try {
      expect(missingPackageFiles(dir)).toEqual([]);
      expect(targets).toEqual(expect.arrayContaining([
        'lib/src/index.js', './lib/lambda/index.js', './lib/esm/lambda/local/index.mjs', 'lib/lambda/local/cli.js', 'lib/lambda/index.d.ts',
      ]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
