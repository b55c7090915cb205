/**
 * An outer deadline for calls that must not hang. The AWS SDK's `requestTimeout` is known not to
 * fire in some versions (aws-sdk-js-v3 issues 6896 and 7632), so every AWS call also races a timer
 * that aborts it and settles the caller's promise, whatever the HTTP layer does.
 */

/** A call that did not settle within its deadline. */
export class CallTimeoutError extends Error {
  constructor(readonly what: string, readonly timeoutMs: number) {
    super(`${what} did not answer within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Runs `call` with an AbortSignal that fires after `timeoutMs`; rejects with
 * {@link CallTimeoutError} at that moment even if `call` ignores the signal.
 */
export async function withDeadline<T>(timeoutMs: number, what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new CallTimeoutError(what, timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([call(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** What {@link deadlineMiddleware} needs of an AWS SDK v3 client. */
interface MiddlewareClient {
  readonly middlewareStack: {
    add(middleware: (next: (args: any) => Promise<any>, context: { commandName?: string }) => (args: any) => Promise<any>,
      options: { step: 'initialize'; name: string }): void;
  };
}

/**
 * Gives every command of an AWS SDK v3 client (retries included) an outer deadline: the command's
 * promise rejects with {@link CallTimeoutError} after `timeoutMs`.
 */
export function addCallDeadline(client: MiddlewareClient, timeoutMs: number): void {
  client.middlewareStack.add(
    (next, context) => (args) => withDeadline(timeoutMs, context.commandName ?? 'AWS call', () => next(args)),
    { step: 'initialize', name: 'trpcSubscriptionsCallDeadline' },
  );
}
