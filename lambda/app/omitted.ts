/**
 * What the builder returns, in a function bundled for one role (docs/runtime.md, "One role per
 * function"), for the handlers and the publisher that role does not carry: the handlers module
 * still loads, and a call fails with an error that says why instead of running missing code.
 */
import { createRouteMethodProxy } from '../util/route-proxy';

/** Why a part is not in this function. */
function omittedError(part: string): Error {
  return new Error(
    `${part} is not in this function's bundle: TrpcSubscriptionApi bundles each function with its own role only `
      + `(this one: "${String(process.env.TRPC_SUBSCRIPTIONS_ROLE)}"). Check that \`handlerNames\` name the right exports, `
      + 'publish from $default (queries, mutations) or another function, or set `bundlePerRole: false` '
      + '(docs/construct.md, "Bundles").',
  );
}

/** A handler of a role this function does not serve: rejects when called. */
export function omittedHandler(name: string): (...args: unknown[]) => Promise<never> {
  return async () => {
    throw omittedError(`${name}()`);
  };
}

/** The publisher in a function whose role does not publish: every call rejects. */
export function omittedPublisher(): unknown {
  const reject = (part: string) => async () => {
    throw omittedError(part);
  };
  return {
    routes: createRouteMethodProxy('publisher.routes', ['publish', 'enqueue', 'stop'], '{ data }', (route, _arg, method) => reject(`publisher.routes.${route}.${method}()`)()),
    // Built from the names: in every function bundled for a role that does not publish.
    connections: Object.fromEntries(['reconnect', 'disconnect', 'isOnline', 'count'].map((name) => [name, reject(`publisher.connections.${name}()`)])),
  };
}
