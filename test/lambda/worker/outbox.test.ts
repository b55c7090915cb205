import type { CutBatch } from '../../../lambda/store/ledger';
import { createOutbox } from '../../../lambda/worker/outbox';

/** The split's outbox: groups of batches saved and queued a few at a time, failures never lost. */
const batch = (index: number): CutBatch => ({ index, targets: [[`c${index}`, 1]] });

/** A send that holds each group until the test releases it. */
function heldSend() {
  const groups: number[][] = [];
  const releases: Array<(error?: Error) => void> = [];
  const send = (group: CutBatch[]) => new Promise<void>((resolve, reject) => {
    groups.push(group.map((b) => b.index));
    releases.push((error) => (error ? reject(error) : resolve()));
  });
  return { groups, releases, send };
}

test('groups batches, keeps at most maxInFlight groups on their way, and flush sends the partial last group', async () => {
  const { groups, releases, send } = heldSend();
  const outbox = createOutbox(send, 2, 2);
  for (const index of [0, 1, 2, 3, 4]) await outbox.add(batch(index));
  expect(groups).toEqual([[0, 1], [2, 3]]);
  // The third group waits for a free slot.
  let added = false;
  const adding = outbox.add(batch(5)).then(() => (added = true));
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(added).toBe(false);
  expect(groups).toEqual([[0, 1], [2, 3]]);
  releases[0]();
  await adding;
  expect(groups).toEqual([[0, 1], [2, 3], [4, 5]]);
  await outbox.add(batch(6));
  const flushed = outbox.flush();
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(groups).toEqual([[0, 1], [2, 3], [4, 5], [6]]);
  releases.slice(1).forEach((release) => release());
  await flushed;
});

test('a failed group fails the next add or the flush with its error; settled() waits for the rest without throwing', async () => {
  const { releases, send } = heldSend();
  const outbox = createOutbox(send, 1, 3);
  await outbox.add(batch(0));
  await outbox.add(batch(1));
  releases[0](new Error('SendMessageBatch refused'));
  await new Promise((resolve) => setTimeout(resolve, 0));
  await expect(outbox.add(batch(2))).rejects.toThrow('SendMessageBatch refused');
  await expect(outbox.flush()).rejects.toThrow('SendMessageBatch refused');
  let settled = false;
  const settling = outbox.settled().then(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(settled).toBe(false);
  releases[1]();
  await settling;
});
