/**
 * The package as users install it: build and `npm pack` this repository, then install the
 * tarball into a fresh app in a temporary directory with chosen versions of the peers. Used by
 * `npm run check:package` (the lowest accepted peers) and by `npm run bench` (the bundle size).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const REPO_ROOT = path.join(__dirname, '..');

/** Runs a command, its output inherited (or returned with `capture`); throws on a non-zero exit. */
export function run(command: string, args: readonly string[], cwd: string, options: { capture?: boolean; env?: NodeJS.ProcessEnv } = {}): string {
  const output = execFileSync(command, args, {
    cwd,
    stdio: options.capture ? ['ignore', 'pipe', 'inherit'] : 'inherit',
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return output ?? '';
}

/**
 * Packs the repository as `npm publish` would and returns the tarball's path. Only tsc's
 * CommonJS build is made first, as a developer might before `npm pack`: the package's `prepack`
 * must build the rest (lib/esm) and check every export, or the tarball would be broken.
 */
export function packRepository(destination: string): string {
  fs.rmSync(path.join(REPO_ROOT, 'lib'), { recursive: true, force: true });
  run('npx', ['tsc', '--build'], REPO_ROOT);
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', destination], REPO_ROOT, { capture: true })) as Array<{ filename: string }>;
  return path.join(destination, packed.filename);
}

/** Compares two `major.minor.patch` versions numerically: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((version) => version.split('.').map(Number));
  return x.map((part, index) => part - y[index]).find((difference) => difference !== 0) ?? 0;
}

/** The lowest version a range accepts: `^2.200.0` and `>=10.3.0` give `2.200.0`, `10.3.0`. */
export function floorOf(range: string): string {
  const match = /^(?:\^|~|>=)?\s*(\d+\.\d+\.\d+)$/.exec(range.trim());
  if (!match) {
    throw new Error(`cannot take the floor of the version range ${JSON.stringify(range)}`);
  }
  return match[1];
}

/** The package's own package.json. */
export function packageJson(): {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
} {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
}

/** A fresh app with the tarball and `dependencies` installed; remove it with `dispose()`. */
export interface ScratchApp {
  readonly dir: string;
  write(file: string, text: string): void;
  dispose(): void;
}

/**
 * Creates a directory under the system temp dir, writes a package.json depending on the
 * tarball and `dependencies` (versions or ranges), and runs `npm install` there.
 */
export function createScratchApp(name: string, tarball: string, dependencies: Record<string, string>): ScratchApp {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  };
  write('package.json', `${JSON.stringify({
    name,
    private: true,
    dependencies: { 'cdk-trpc-subscriptions': `file:${tarball}`, ...dependencies },
  }, null, 2)}\n`);
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], dir);
  return { dir, write, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
