import { createTRPCRecursiveProxy } from '@trpc/server';

/**
 * A proxy nested like a router whose only calls are `method` (one name or several) on a route:
 * `<name>.chat.onMessage.<method>(arg)` calls `dispatch('chat.onMessage', arg, method)`. Any
 * other call throws an error showing the expected form.
 * @param name how the proxy is reached, for errors (`publisher.routes`)
 * @param exampleArgs the arguments shown in the error's example (`{ data }`)
 */
export function createRouteMethodProxy(
  name: string, method: string | readonly string[], exampleArgs: string, dispatch: (route: string, arg: unknown, method: string) => unknown,
): unknown {
  const methods: readonly string[] = typeof method === 'string' ? [method] : method;
  return createTRPCRecursiveProxy(({ path, args }) => {
    const called = path[path.length - 1];
    const route = path.slice(0, -1).join('.');
    if (!methods.includes(called) || route === '') {
      throw new Error(
        `${name}.${path.join('.')}(): call ${methods.map((m) => `${m}()`).join(' or ')} on a route, e.g. ${name}.onMessage.${methods[0]}(${exampleArgs})`,
      );
    }
    return dispatch(route, args[0], called);
  });
}

/**
 * Like {@link createRouteMethodProxy} with several methods: `<name>.chat.onMessage.<m>(arg)`
 * calls `methods[m]('chat.onMessage', arg)`.
 */
export function createRouteMethodsProxy(
  name: string, exampleArgs: string, methods: Readonly<Record<string, (route: string, arg: unknown) => unknown>>,
): unknown {
  const names = Object.keys(methods);
  return createTRPCRecursiveProxy(({ path, args }) => {
    const called = path[path.length - 1];
    const route = path.slice(0, -1).join('.');
    const dispatch = Object.hasOwn(methods, called) ? methods[called] : undefined;
    if (!dispatch || route === '') {
      throw new Error(`${name}.${path.join('.')}(): call ${names.map((m) => `${m}()`).join(' or ')} on a route, e.g. ${name}.onMessage.${names[0]}(${exampleArgs})`);
    }
    return dispatch(route, args[0]);
  });
}
