/**
 * Node.js from the npm registry: `node-linux-<arch>@<major>` is the official binary in a package.
 * Installed under `.cache/node/<major>` of the repository (never globally) and reused.
 *
 * `tsx scripts/node-from-npm.ts <major>|engines` installs that major (`engines`: the floor of
 * package.json's `engines.node`) and prints its `bin` directory, for a `PATH` (`.ci/run`).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { floorOf } from './scratch-app';

const ROOT = path.join(__dirname, '..');

/** The major of package.json's `engines.node` floor (`>= 22.0.0` gives 22). */
export function enginesFloorMajor(): number {
  const { engines } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  return Number(floorOf(engines.node).split('.')[0]);
}

/** Installs Node.js `major` from npm (once; cached) and returns its `bin` directory. */
export function installNode(major: number): string {
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
    throw new Error(`Node.js from npm (node-linux-<arch>) is published for Linux x64 and arm64 only, got: ${process.platform} ${process.arch}`);
  }
  const name = `node-linux-${process.arch}`;
  const prefix = path.join(ROOT, '.cache', 'node', String(major));
  const bin = path.join(prefix, 'node_modules', name, 'bin');
  if (!fs.existsSync(path.join(bin, 'node'))) {
    fs.mkdirSync(prefix, { recursive: true });
    // stdout stays free for the printed path: npm's output goes to stderr.
    execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, `${name}@${major}`], {
      stdio: ['ignore', process.stderr, 'inherit'],
    });
  }
  const version = nodeVersion(bin);
  if (!version.startsWith(`v${major}.`)) throw new Error(`expected Node.js ${major} in ${bin}, got: ${version}`);
  return bin;
}

/** `node --version` of the binary in `bin`. */
export function nodeVersion(bin: string): string {
  return execFileSync(path.join(bin, 'node'), ['--version'], { encoding: 'utf8' }).trim();
}

if (require.main === module) {
  const arg = process.argv[2];
  const major = arg === 'engines' ? enginesFloorMajor() : Number(arg);
  if (!Number.isInteger(major)) throw new Error(`usage: tsx scripts/node-from-npm.ts <major>|engines, got: ${arg}`);
  process.stdout.write(`${installNode(major)}\n`);
}
