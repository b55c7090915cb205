import { Runtime, RuntimeFamily } from 'aws-cdk-lib/aws-lambda';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * Node.js 24 (the Active LTS release), the default runtime of the handlers and of
 * `PublisherFunction`. aws-cdk-lib names it `Runtime.NODEJS_24_X` only from 2.224; on older
 * versions of the accepted range the same runtime is declared by its Lambda identifier.
 */
export function defaultNodejsRuntime(): Runtime {
  const named = (Runtime as unknown as Partial<Record<'NODEJS_24_X', Runtime>>).NODEJS_24_X;
  return named ?? new Runtime('nodejs24.x', RuntimeFamily.NODEJS, { supportsInlineCode: true });
}

/** Bundling of every function the package creates: minified, external source map, SDK external. */
export const DEFAULT_BUNDLING: BundlingOptions = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // The Lambda Node.js runtime ships AWS SDK v3.
  externalModules: ['@aws-sdk/*'],
};

/** Environment of every function the package creates (merged under the user's). */
export const DEFAULT_ENVIRONMENT: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  NODE_OPTIONS: '--enable-source-maps',
};
