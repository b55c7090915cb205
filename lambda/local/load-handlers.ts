import Module from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { build, formatMessages, type Message } from 'esbuild';
import { describeErrorLine } from './error-line';
import type { LambdaStyleHandler } from './events';
import type { LocalGatewayHandlers } from './gateway';
import type { QueueBatchResponse, QueueEvent } from '../queue/sqs-event';

/** Which exports of the handlers module serve which route. */
export interface HandlerExportNames {
  /** @default 'connect' */
  readonly connect?: string;
  /** @default 'handler' */
  readonly handler?: string;
  /** @default 'disconnect' */
  readonly disconnect?: string;
}

/** A freshly loaded handlers module. */
export interface LoadedHandlers {
  readonly handlers: LocalGatewayHandlers;
  /** The module's `rollover` export (the scheduled rollover function), when it has one. */
  readonly rollover?: (event?: unknown) => Promise<unknown>;
  /** The module's `worker` export (the fan-out worker of `queuedFanOut`), when it has one. */
  readonly worker?: (event: QueueEvent) => Promise<QueueBatchResponse | void>;
  /** Absolute paths of the project files the module is built from (not node_modules): watch these. */
  readonly files: string[];
}

/**
 * The handlers module could not be built or loaded; `message` is ready to print, and `cause` is
 * what the module threw while loading (for its stack).
 */
export class HandlersLoadError extends Error {
  constructor(message: string, readonly files: string[] = [], options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = 'HandlersLoadError';
  }
}

/**
 * Build the handlers module the way `NodejsFunction` deploys it (esbuild, one CommonJS bundle,
 * `@aws-sdk/*` left to the runtime) and evaluate it in this process as if it lived at `entry`, so
 * that `require` of external packages resolves from the entry's folder. TypeScript, tsconfig
 * paths and ESM-only dependencies work as in the deployed Lambda; stack traces point to the
 * sources (inline source map). Each call loads a fresh copy: that is how `dev` reloads.
 *
 * @throws HandlersLoadError when the build fails, the module throws while loading, or an export is
 * missing or not a function
 */
export async function loadHandlers(entry: string, names: HandlerExportNames = {}): Promise<LoadedHandlers> {
  const entryPath = resolve(entry);
  let result;
  try {
    result = await build({
      entryPoints: [entryPath],
      // Not written: the path only anchors the source map's relative paths next to the entry.
      outfile: join(dirname(entryPath), '.cdk-trpc-subscriptions-dev.js'),
      write: false,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: `node${process.versions.node.split('.')[0]}`,
      external: ['@aws-sdk/*'],
      sourcemap: 'inline',
      metafile: true,
      logLevel: 'silent',
    });
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors;
    if (!errors) throw new HandlersLoadError(`Cannot build ${entry}: ${(error as Error).message}`);
    const text = (await formatMessages(errors, { kind: 'error', color: false })).join('');
    throw new HandlersLoadError(`Cannot build ${entry}:\n${text.trimEnd()}`, [entryPath]);
  }
  const files = Object.keys(result.metafile.inputs)
    .filter((input) => !/(^|[/\\])node_modules[/\\]/.test(input) && !input.includes(':'))
    .map((input) => resolve(input));

  let exported: Record<string, unknown>;
  try {
    exported = evaluate(result.outputFiles[0].text, entryPath);
  } catch (error) {
    throw new HandlersLoadError(`${entry} threw while loading: ${describeErrorLine(error)}`, files, { cause: error });
  }
  const pick = (route: keyof LocalGatewayHandlers): LambdaStyleHandler => {
    const name = names[route] ?? route;
    const value = exported[name];
    if (typeof value !== 'function') {
      const functions = Object.keys(exported).filter((key) => typeof exported[key] === 'function');
      throw new HandlersLoadError(
        `${entry} must export a function \`${name}\` for ${routeKeyOf(route)}, got: ${value === undefined ? 'no such export' : typeof value}` +
          ` (exported functions: ${functions.join(', ') || 'none'}). Pick another export with --${route} <name>.`,
        files,
      );
    }
    return value as LambdaStyleHandler;
  };
  const rollover = typeof exported.rollover === 'function' ? (exported.rollover as LoadedHandlers['rollover']) : undefined;
  const worker = typeof exported.worker === 'function' ? (exported.worker as LoadedHandlers['worker']) : undefined;
  return {
    handlers: { connect: pick('connect'), handler: pick('handler'), disconnect: pick('disconnect') },
    files,
    ...(rollover ? { rollover } : {}),
    ...(worker ? { worker } : {}),
  };
}

function routeKeyOf(route: keyof LocalGatewayHandlers): string {
  return route === 'handler' ? '$default' : `$${route}`;
}

/** Run CommonJS `code` as the module at `filename` (its own `require`, `__dirname`, source map). */
function evaluate(code: string, filename: string): Record<string, unknown> {
  const module = new Module(filename) as Module & { _compile(code: string, filename: string): void };
  module.filename = filename;
  module.paths = (Module as unknown as { _nodeModulePaths(from: string): string[] })._nodeModulePaths(dirname(filename));
  module._compile(code, filename);
  return module.exports as Record<string, unknown>;
}
