import { memoryMessageLog } from '../../example/web/message-log';

const at = new Date('2026-01-01T00:00:00Z');

test('GIVEN messages in two rooms WHEN read after an id THEN only the newer ones of that room come back, oldest first', () => {
  const log = memoryMessageLog();
  const first = log.append({ room: 'lobby', from: 'alice', text: 'one', at });
  log.append({ room: 'garden', from: 'carol', text: 'elsewhere', at });
  const second = log.append({ room: 'lobby', from: 'bob', text: 'two', at });

  expect(log.after('lobby').map((m) => m.text)).toEqual(['one', 'two']);
  expect(log.after('lobby', first.id).map((m) => m.text)).toEqual(['two']);
  expect(log.after('lobby', second.id)).toEqual([]);
  expect(log.after('kitchen')).toEqual([]);
  // Ids sort as strings in the order of the messages (the page keeps the largest it has seen).
  expect(first.id < second.id).toBe(true);
});

test('GIVEN more than 200 messages in a room WHEN read THEN the last 200 remain', () => {
  const log = memoryMessageLog();
  for (let i = 1; i <= 205; i++) log.append({ room: 'lobby', from: 'alice', text: `m${i}`, at });

  const kept = log.after('lobby');

  expect(kept).toHaveLength(200);
  expect([kept[0].text, kept.at(-1)!.text]).toEqual(['m6', 'm205']);
  expect(log.after('lobby', kept[0].id, 2).map((m) => m.text)).toEqual(['m204', 'm205']);
});
