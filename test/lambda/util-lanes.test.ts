import { forEachInLanes } from '../../lambda/util/lanes';

describe('forEachInLanes', () => {
  test('a lane that never finishes does not hold the other lanes, and each lane keeps its own bound', async () => {
    const done: string[] = [];
    const stuck: Array<() => void> = [];
    let maxSlowInFlight = 0;
    let slowInFlight = 0;
    const pages = [[...'ab'].flatMap((lane) => Array.from({ length: 5 }, (_, i) => `${lane}${i}`))];

    const run = forEachInLanes(pages, (item) => item[0], 2, async (item) => {
      if (item.startsWith('b')) {
        slowInFlight++;
        maxSlowInFlight = Math.max(maxSlowInFlight, slowInFlight);
        await new Promise<void>((resolve) => stuck.push(resolve));
        slowInFlight--;
      }
      done.push(item);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(done).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(maxSlowInFlight).toBe(2);
    let finished = false;
    void run.then(() => (finished = true));
    while (!finished) {
      stuck.splice(0).forEach((resolve) => resolve());
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(done.filter((item) => item.startsWith('b')).sort()).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
  });

  test('the first rejection is rethrown once the items in flight settled, and nothing more starts', async () => {
    const started: number[] = [];
    const pages = [[1, 2, 3], [4, 5, 6]];

    await expect(forEachInLanes(pages, () => 'one', 1, async (item) => {
      started.push(item);
      if (item === 2) throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(started).toEqual([1, 2]);
  });

  test('reads ahead only while fewer than maxQueued items wait', async () => {
    let pagesRead = 0;
    const release: Array<() => void> = [];
    async function* pages() {
      for (let page = 0; page < 4; page++) {
        pagesRead++;
        yield [page * 2, page * 2 + 1];
      }
    }
    const run = forEachInLanes(pages(), () => 'one', 1, () => new Promise<void>((resolve) => release.push(resolve)), 3);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // 1 running + 3 queued after the second page: reading stops.
    expect(pagesRead).toBe(2);
    let finished = false;
    void run.then(() => (finished = true));
    while (!finished) {
      release.splice(0).forEach((resolve) => resolve());
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(pagesRead).toBe(4);
  });
});
