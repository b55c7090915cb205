import * as fs from 'fs';
import * as path from 'path';
import { CAPABILITIES } from './capabilities';
import { queued, singleRegion, twoRegions } from './modes';
import type { Mode } from './world';

/**
 * docs/runtime.md's modes x capabilities table names exactly the matrix's tests: one column per
 * mode (its test file), one row per capability, each cell the capability's tests in that file.
 */
const MODE_FILES: ReadonlyArray<readonly [Pick<Mode, 'name' | 'regions'>, string]> = [
  [singleRegion, 'one-region.test.ts'],
  [twoRegions, 'two-regions.test.ts'],
  [queued, 'queued.test.ts'],
  // The production mode's own module loads aws-cdk-lib; its name and Region are all this needs.
  [{ name: 'production props', regions: ['local'] }, 'production.test.ts'],
];

/** The cell text of a capability in a mode: its test name, every Region pair in braces. */
function cellText(mode: Pick<Mode, 'regions'>, capability: string): string {
  if (mode.regions.length === 1) return `\`${capability} › acting on a client\``;
  const regions = `{${mode.regions.join(',')}}`;
  return `\`${capability} › acting from ${regions} on a client of ${regions}\``;
}

function tableOf(markdown: string): string[][] {
  const section = markdown.split('\n## Modes and capabilities\n')[1]?.split('\n## ')[0];
  if (!section) throw new Error('docs/runtime.md has no "## Modes and capabilities" section');
  return section.split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| ---'))
    .map((line) => line.slice(2, -2).split(' | '));
}

test('docs/runtime.md names every mode, every capability and every cell of the matrix', () => {
  const [header, ...rows] = tableOf(fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'runtime.md'), 'utf8'));
  expect(header).toEqual(['capability', ...MODE_FILES.map(([mode, file]) => `${mode.name} (\`test/matrix/${file}\`)`)]);
  expect(rows).toEqual(CAPABILITIES.map(({ name }) => [name, ...MODE_FILES.map(([mode]) => cellText(mode, name))]));
  for (const [, file] of MODE_FILES) expect(fs.existsSync(path.join(__dirname, file))).toBe(true);
});
