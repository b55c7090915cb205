import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

/** Where `esbuild` resolves from a package's directory, and its version. */
function esbuildSeenFrom(dir: string): { file: string; version: string } {
  const file = require.resolve('esbuild/package.json', { paths: [dir] });
  return { file, version: JSON.parse(fs.readFileSync(file, 'utf8')).version };
}

describe('esbuild: one copy in an app, not two', () => {
  test('GIVEN tsx (which brings the esbuild tsx users and cdk init apps run) WHEN installed beside the package THEN both use the same esbuild', () => {
    const tsxDir = path.dirname(require.resolve('tsx/package.json'));
    const ours = esbuildSeenFrom(ROOT);
    const tsx = esbuildSeenFrom(tsxDir);

    // The package's range reaches the esbuild tsx asks for, so npm installs one copy for both.
    expect(tsx.file).toBe(ours.file);
    expect(tsx.version).toBe(ours.version);
  });
});
