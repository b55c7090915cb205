import { setTimeout as sleep } from 'node:timers/promises';
import { createRateGate } from '../../../lambda/util/rate-gate';

/** How many of `calls` acquisitions, asked for at once, start without waiting. */
async function startingAtOnce(gate: ReturnType<typeof createRateGate>, calls: number): Promise<number> {
  let started = 0;
  const pending = Array.from({ length: calls }, () => gate.acquire().then(() => started++));
  // Let every acquisition that needs no timer settle.
  await sleep(0);
  const atOnce = started;
  await Promise.all(pending);
  return atOnce;
}

test('after an idle spell a gate catches up on 250 ms of its pace at once, no more', async () => {
  const gate = createRateGate({ maxPerSecond: 20 });
  await sleep(600);
  // Slots every 50 ms: the ones from 250 ms ago to now (6) start at once; the other 4 wait their slot.
  expect(await startingAtOnce(gate, 10)).toBe(6);
});

test('a gate keeps its pace: a second burst right after the first waits for its slots', async () => {
  const gate = createRateGate({ maxPerSecond: 20 });
  expect(await startingAtOnce(gate, 8)).toBe(6);
  expect(await startingAtOnce(gate, 3)).toBe(0);
});

test('throttling halves the rate, at most once per 100 ms, and never below the minimum', () => {
  const gate = createRateGate({ maxPerSecond: 400, minPerSecond: 50 });
  gate.throttled();
  expect(gate.rate).toBe(200);
  gate.throttled();
  expect(gate.rate).toBe(200);
  const unpaced = createRateGate({ minPerSecond: 50 });
  expect(unpaced.rate).toBe(Infinity);
  unpaced.throttled();
  expect(unpaced.rate).toBe(50);
});
