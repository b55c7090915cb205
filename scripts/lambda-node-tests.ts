/**
 * `npm run test:lambda-node` (run by `.ci/run`): the jest suites on the Node.js versions of the
 * Lambda runtimes the runtime code is tested on (`TESTED_NODEJS_MAJORS` in
 * src/function-defaults.ts), whatever Node.js runs the rest. Each Node.js comes from the npm
 * registry (scripts/node-from-npm.ts, under `.cache/node/<major>`, never globally); its `bin` goes
 * first on the `PATH` of that jest run. JUnit reports go to `test-reports/node-<major>/`.
 *
 * `--major <n>` runs one version; other arguments go to jest (e.g. test paths).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { installNode, nodeVersion } from './node-from-npm';
import { TESTED_NODEJS_MAJORS } from '../src/function-defaults';

const ROOT = path.join(__dirname, '..');

function main(args: string[]): void {
  const majorIndex = args.indexOf('--major');
  const majors = majorIndex >= 0 ? [Number(args[majorIndex + 1])] : [...TESTED_NODEJS_MAJORS];
  const jestArgs = majorIndex >= 0 ? args.filter((_, index) => index !== majorIndex && index !== majorIndex + 1) : args;
  const failed: number[] = [];
  for (const major of majors) {
    const bin = installNode(major);
    const started = Date.now();
    process.stderr.write(`\n[test:lambda-node] jest on Node.js ${nodeVersion(bin)} (${bin})\n`);
    const result = spawnSync(path.join(bin, 'node'), [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', ...jestArgs], {
      cwd: ROOT,
      stdio: 'inherit',
      env: {
        ...process.env,
        PATH: `${bin}${path.delimiter}${process.env.PATH}`,
        JEST_JUNIT_OUTPUT_DIR: path.join(ROOT, 'test-reports', `node-${major}`),
      },
    });
    process.stderr.write(`[test:lambda-node] Node.js ${major}: ${result.status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    if (result.status !== 0) failed.push(major);
  }
  if (failed.length > 0) {
    process.stderr.write(`[test:lambda-node] failed on Node.js ${failed.join(', ')}\n`);
    process.exit(1);
  }
}

if (require.main === module) {
  main(process.argv.slice(2));
}
