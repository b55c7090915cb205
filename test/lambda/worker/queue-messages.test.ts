import { parseQueueBody, type DeliverMessage } from '../../../lambda/queue/messages';
import { deliveryTarget } from '../../../lambda/worker/split';

/** The delivery target shapes: single-region ones as before, a Region only when the rows carry one. */
const deliver = (targets: unknown[], more: Record<string, unknown> = {}) =>
  JSON.stringify({ v: 1, kind: 'deliver', batchId: 'p#0', path: 'onMessage', result: '{}', targets, ...more });

test('a subscriber without a Region keeps the single-region target shape; with one, the Region comes fourth', () => {
  expect(deliveryTarget({ connectionId: 'c', subscriptionId: 1 })).toEqual(['c', 1]);
  expect(deliveryTarget({ connectionId: 'c', subscriptionId: 's', jsonrpc: '2.0' })).toEqual(['c', 's', '2.0']);
  expect(deliveryTarget({ connectionId: 'c', subscriptionId: 1, region: 'eu' })).toEqual(['c', 1, null, 'eu']);
  expect(deliveryTarget({ connectionId: 'c', subscriptionId: 1, jsonrpc: '2.0', region: 'us', liveAfter: '1' })).toEqual(['c', 1, '2.0', 'us']);
});

test('delivery messages of both shapes parse, with or without an event id', () => {
  const targets = [['a', 1], ['b', 's', '2.0'], ['c', 2, null, 'eu'], ['d', 3, '2.0', 'us']];
  expect((parseQueueBody(deliver(targets)) as DeliverMessage).targets).toEqual(targets);
  expect(parseQueueBody(deliver(targets, { eventId: '0000000000000042' }))).toMatchObject({ eventId: '0000000000000042' });
});

test('a target with a Region that is not a string, or an event id that is not a string, is refused', () => {
  expect(() => parseQueueBody(deliver([['a', 1, null, 7]]))).toThrow('queue message has malformed `targets`');
  expect(() => parseQueueBody(deliver([['a', 1]], { eventId: 42 }))).toThrow('queue message has an `eventId` that is not a string');
});
