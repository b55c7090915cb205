import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

/**
 * Lints `files` (path -> source), written for the run and then removed: the type-aware parser
 * only reads files of the TypeScript project. Resolves eslint's exit code and output.
 */
async function lint(files: Record<string, string>): Promise<{ code: number; output: string }> {
  const paths = Object.keys(files);
  for (const path of paths) writeFileSync(join(root, path), files[path]);
  try {
    const eslint = join(root, 'node_modules', '.bin', 'eslint');
    const { stdout } = await run(eslint, ['--rule', 'import/order: off', ...paths], {
      cwd: root, env: { ...process.env, ESLINT_USE_FLAT_CONFIG: 'false', NODE_NO_WARNINGS: '1' },
    });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, output: failed.stdout };
  } finally {
    for (const path of paths) rmSync(join(root, path), { force: true });
  }
}

test('lint fails an import from a higher layer of the runtime, and passes the same import downwards', async () => {
  const upward = `lambda/store/layer-probe-${process.pid}.ts`;
  const downward = `lambda/handlers/layer-probe-${process.pid}.ts`;
  const source = "import { getDefaultStore } from '../core/environment';\n\nexport const store = getDefaultStore;\n";

  const result = await lint({ [upward]: source, [downward]: source });

  expect(result.code).toBe(1);
  expect(result.output).toContain(upward);
  expect(result.output).toContain('import/no-restricted-paths');
  expect(result.output).not.toContain(downward);
}, 120_000);
