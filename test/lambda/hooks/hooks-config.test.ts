/** The checks of `.routes.<path>.hooks()` and `.hooks()`, the kept state, and the reported reasons. */
import { MAX_HOOK_STATE_BYTES } from '../../../lambda';
import { reportedReason, serializeHookState } from '../../../lambda/core/hooks';
import { appRouter, createContext, subscriptions } from '../../fixtures/router';

const base = subscriptions.router({ router: appRouter, createContext });

test('hooks are checked when declared: an object of functions, known names, once per route', () => {
  expect(() => base.routes.onMessage.hooks(null as never)).toThrow('routes.onMessage.hooks(): hooks must be an object like { onSubscribe, onUnsubscribe }, got: null');
  expect(() => base.routes.onMessage.hooks({ onStart: () => undefined } as never))
    .toThrow('routes.onMessage.hooks(): unknown hook "onStart" (hooks: onSubscribe, onUnsubscribe)');
  expect(() => base.routes.onMessage.hooks({ onUnsubscribe: 'log' } as never)).toThrow('routes.onMessage.hooks(): `onUnsubscribe` must be a function, got: string');
  const once = base.routes.onMessage.hooks({ onUnsubscribe: () => undefined });
  expect(() => once.routes.onMessage.hooks({})).toThrow('routes.onMessage.hooks(): the route already has hooks');
  expect(() => (base.routes as any).whoami.hooks({})).toThrow('routes.whoami: the router has no subscription procedure at "whoami"');
  expect(() => base.hooks({ onClose: () => undefined } as never)).toThrow('hooks(): unknown hook "onClose" (hooks: onConnect, onDisconnect)');
  expect(() => base.hooks({}).hooks({})).toThrow('hooks(): the connection hooks are set already');
});

test('what onSubscribe returns is kept as JSON of at most 4 KB', () => {
  expect(serializeHookState('onMessage', undefined)).toBeUndefined();
  expect(serializeHookState('onMessage', { userId: 'u1', tabs: [1, 2] })).toBe('{"userId":"u1","tabs":[1,2]}');
  expect(() => serializeHookState('onMessage', { big: 'x'.repeat(MAX_HOOK_STATE_BYTES) }))
    .toThrow(`routes.onMessage.hooks(): onSubscribe's result is ${MAX_HOOK_STATE_BYTES + 10} bytes serialized, at most 4096 are kept`);
  expect(() => serializeHookState('onMessage', () => 1)).toThrow('routes.onMessage.hooks(): onSubscribe must return JSON (kept for onUnsubscribe), got: function');
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  expect(() => serializeHookState('onMessage', cycle)).toThrow(/onSubscribe must return JSON .*circular/);
});

test('a move or a server close changes the reason the client\'s own actions would give', () => {
  expect(reportedReason('stop', undefined)).toBe('stop');
  expect(reportedReason('stop', 'moving')).toBe('moved');
  expect(reportedReason('disconnect', 'moving')).toBe('moved');
  // The client may have died instead of moving: what finds it gone says so.
  expect(reportedReason('gone', 'moving')).toBe('gone');
  expect(reportedReason('expired', 'moving')).toBe('expired');
  expect(reportedReason('disconnect', 'closing')).toBe('server-stop');
  expect(reportedReason('gone', 'closing')).toBe('server-stop');
  expect(reportedReason('refused', 'closing')).toBe('refused');
});
