import fc from 'fast-check';
import superjson from 'superjson';

/**
 * Generators of hostile `$default` frames and an oracle of what the tRPC v11 protocol says the
 * server must answer, written from the protocol notes (docs: shared/notes/protocol.md), not from
 * the handler's code.
 */

/** A request id as the server must echo it: string or finite number; everything else is "no id". */
export type ReplyId = string | number | null;

/** What one message of a frame must produce. */
export type Expectation =
  /** Exactly one frame with this id. */
  | { readonly kind: 'reply'; readonly id: ReplyId }
  /** A subscription request: one frame (started or error), unless a stop of its id is in the same frame. */
  | { readonly kind: 'subscribe'; readonly id: string | number; readonly path: unknown }
  /** A stop: no frame, or `stopped` when it stopped a subscription. */
  | { readonly kind: 'stop'; readonly id: string | number };

/** A frame to send and what must come back. */
export interface FrameCase {
  readonly body: string;
  readonly isBase64Encoded: boolean;
  /** Short description for failure messages. */
  readonly label: string;
}

/** Paths of the example router: subscriptions, query, mutation. */
export const SUBSCRIPTION_PATHS = ['onMessage', 'chat.onTyping', 'onNotification'] as const;
const OTHER_PATHS = ['whoami', 'sendMessage', 'chat', 'nope', '', '__proto__', 'constructor', 'onMessage.filter', 'chat.__proto__', 'toString'];

/** JSON text of a value (strings, numbers, objects without special keys). */
const text = (value: unknown): string => JSON.stringify(value);

/** Keys that attack lookups: prototype keys and the protocol's own field names. */
const hostileKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'),
  fc.constantFrom('id', 'method', 'params', 'path', 'input', 'json', 'meta', 'values', 'room', 'lastEventId', 'jsonrpc', 'polluted'),
  fc.string({ maxLength: 8 }),
);

/** Number literals JSON allows but JavaScript cannot keep (Infinity after parsing, rounding, -0). */
const numberLiteral = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => text(value)),
  fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '-0', '1.5e-400', '9007199254740993', '0.1'),
);

const scalar = fc.oneof(
  numberLiteral,
  fc.string({ maxLength: 20 }).map(text),
  fc.string({ unit: 'binary', maxLength: 10 }).map(text),
  fc.constantFrom('true', 'false', 'null', '""', '"\\u0000"', '"\\ud800"', '"#"', '";"', '"\\\\"'),
);

/** A JSON text tree with hostile keys (own `__proto__` properties once parsed). */
export const jsonTree: fc.Arbitrary<string> = fc.letrec<{ value: string; arr: string; obj: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('arr'), tie('obj')),
  arr: fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
  obj: fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 5 })
    .map((entries) => `{${entries.map(([key, value]) => `${text(key)}:${value}`).join(',')}}`),
})).value;

/** Nesting far deeper than any input (API Gateway allows 128 KB frames). */
export const deepNesting = fc.integer({ min: 1_000, max: 60_000 }).chain((depth) =>
  fc.constantFrom(`${'['.repeat(depth)}${']'.repeat(depth)}`, `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
);

/** Ids as sent on the wire: valid ones, huge ones, wrong types, missing. */
export const idText: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 50 }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom('"1"', '"a"', '""', '"#"', '"1;"', '"\\\\h"') },
  { weight: 2, arbitrary: fc.constantFrom('1e400', '-1e400', '-0', '1.5', '-7', '9007199254740993', '123456789012345678901234567890') },
  { weight: 1, arbitrary: fc.string({ minLength: 100, maxLength: 3000 }).map(text) },
  { weight: 1, arbitrary: fc.constantFrom('null', 'true', '{}', '[]', '{"__proto__":1}', undefined) },
);

/** Inputs: valid superjson, invalid for the schema, hostile trees, oversized, deep. */
const inputText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'b', '', 'a#b', 'u1').map((room) => text(superjson.serialize({ room }))) },
  { weight: 1, arbitrary: fc.constant(text(superjson.serialize(undefined))) },
  { weight: 1, arbitrary: fc.constant(text(superjson.serialize({ lastEventId: 'e1' }))) },
  { weight: 1, arbitrary: fc.constantFrom(text({ json: { room: 1 } }), text({ json: {} }), text({ json: { room: 'a' }, meta: { values: { room: ['Date'] } } })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"json":{"room":"a","__proto__":{"polluted":true}}}',
      '{"json":{"room":"a"},"meta":{"values":{"__proto__.polluted":["undefined"]}}}',
      '{"json":{"room":"a"},"meta":{"values":{"constructor.prototype.polluted":["Date"]}}}',
      '{"json":{"room":"a"},"meta":{"referentialEqualities":{"room":["__proto__.polluted"]}}}',
      '{"json":{"room":"a","constructor":{"prototype":{"polluted":true}}}}',
      '{"json":null,"meta":{"values":["bigint"]}}',
      '{"json":"x","meta":{"values":["custom.nope"]}}',
    ),
  },
  { weight: 1, arbitrary: jsonTree },
  { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 110_000 }).map((size) => text({ json: { room: 'x'.repeat(size) } })) },
  { weight: 1, arbitrary: deepNesting.map((deep) => `{"json":${deep}}`) },
);

const methodText = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('"query"', '"mutation"', '"subscription"', '"subscription.stop"') },
  { weight: 1, arbitrary: fc.constantFrom('"Subscription"', '"subscription.start"', '"stop"', '"reconnect"', '"__proto__"', 'null', '1', '["query"]') },
);

const pathText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SUBSCRIPTION_PATHS).map(text) },
  { weight: 2, arbitrary: fc.constantFrom(...OTHER_PATHS).map(text) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 30 }).map(text), fc.constantFrom('1', 'null', '{}', '["onMessage"]')) },
);

function member(key: string, value: string | undefined): string[] {
  return value === undefined ? [] : [`${text(key)}:${value}`];
}

/** A request-like message: mostly well formed, with wrong parts mixed in. */
export const requestText: fc.Arbitrary<string> = fc.record({
  id: idText,
  jsonrpc: fc.option(fc.constantFrom('"2.0"', '"1.0"', '2'), { nil: undefined, freq: 4 }),
  method: methodText,
  path: pathText,
  input: fc.option(inputText, { nil: undefined, freq: 6 }),
  lastEventId: fc.option(fc.constantFrom('"e1"', '""', '1', 'null'), { nil: undefined, freq: 6 }),
  extra: fc.option(fc.tuple(hostileKey, jsonTree), { nil: undefined, freq: 4 }),
  paramsShape: fc.constantFrom('object', 'object', 'object', 'object', 'missing', 'array', 'string'),
}).map(({ id, jsonrpc, method, path, input, lastEventId, extra, paramsShape }) => {
  const params = `{${[...member('path', path), ...member('input', input), ...member('lastEventId', lastEventId)].join(',')}}`;
  const paramsValue = { object: params, missing: undefined, array: `[${params}]`, string: '"params"' }[paramsShape];
  const parts = [...member('id', id), ...member('jsonrpc', jsonrpc), ...member('method', method), ...member('params', paramsValue)];
  if (extra) parts.push(`${text(extra[0])}:${extra[1]}`);
  return `{${parts.join(',')}}`;
});

/** One message of a frame. */
export const messageText = fc.oneof({ weight: 8, arbitrary: requestText }, { weight: 2, arbitrary: jsonTree });

/** Batches of mixed valid and invalid messages (arrays, as the client batches). */
export const batchText = fc.array(messageText, { minLength: 0, maxLength: 6 }).map((items) => `[${items.join(',')}]`);

/** Text that is not JSON (and not exactly PING/PONG). */
const garbageText = fc.oneof(
  fc.constantFrom('{not json', '', ' ', 'ping', 'PING ', ' PONG', 'PINGPONG', 'undefined', 'NaN', '{"id":1,', '[1,]', '\u0000', '\ufeff{}'),
  fc.string({ maxLength: 40 }),
);

/** Any text frame. */
export const frameText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: requestText },
  { weight: 4, arbitrary: batchText },
  { weight: 2, arbitrary: jsonTree },
  { weight: 2, arbitrary: garbageText },
  { weight: 1, arbitrary: fc.constantFrom('PING', 'PONG') },
  { weight: 1, arbitrary: deepNesting },
);

/** Frames as API Gateway delivers them: text, or binary (base64, `isBase64Encoded`). */
export const frameCase: fc.Arbitrary<FrameCase> = fc.oneof(
  { weight: 8, arbitrary: frameText.map((body) => ({ body, isBase64Encoded: false, label: 'text' })) },
  { weight: 1, arbitrary: frameText.map((body) => ({ body: Buffer.from(body, 'utf8').toString('base64'), isBase64Encoded: true, label: 'binary text' })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ body: Buffer.from(bytes).toString('base64'), isBase64Encoded: true, label: 'binary bytes' })) },
);

// ---------------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The id a reply must carry: strings and finite numbers are echoed; anything else is null. */
export function replyIdOf(message: unknown): ReplyId {
  if (!isObject(message) || !Object.hasOwn(message, 'id')) return null;
  const id = message.id;
  if (typeof id === 'string') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return id;
  return null;
}

/** What the protocol requires for one message of a frame. */
export function expectationOf(message: unknown): Expectation {
  const id = replyIdOf(message);
  if (!isObject(message) || id === null) return { kind: 'reply', id: null };
  const valid = message.jsonrpc === undefined || message.jsonrpc === '2.0';
  if (valid && message.method === 'subscription.stop') return { kind: 'stop', id };
  if (valid && message.method === 'subscription') {
    const params = message.params;
    return { kind: 'subscribe', id, path: isObject(params) ? params.path : undefined };
  }
  return { kind: 'reply', id };
}

/** What a whole frame requires. */
export type FrameExpectation =
  | { readonly kind: 'pong' }
  | { readonly kind: 'nothing' }
  /** Exactly one error frame with id null (garbage, an over-long batch, a stray connectionParams). */
  | { readonly kind: 'null-error' }
  | { readonly kind: 'messages'; readonly messages: readonly Expectation[] };

/** The frame's text as the handler must read it (binary frames are base64 on the event). */
export function decodedText(frame: FrameCase): string {
  return frame.isBase64Encoded ? Buffer.from(frame.body, 'base64').toString('utf8') : frame.body;
}

/** What the protocol requires for a frame (batches over `maxBatchSize`: one error frame, id null). */
export function expectationOfFrame(frame: FrameCase, maxBatchSize: number): FrameExpectation {
  const body = decodedText(frame);
  if (body === 'PING') return { kind: 'pong' };
  if (body === 'PONG') return { kind: 'nothing' };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { kind: 'null-error' };
  }
  if (Array.isArray(value)) {
    if (value.length > maxBatchSize) return { kind: 'null-error' };
    return { kind: 'messages', messages: value.map(expectationOf) };
  }
  if (isObject(value) && value.method === 'connectionParams') return { kind: 'null-error' };
  return { kind: 'messages', messages: [expectationOf(value)] };
}
