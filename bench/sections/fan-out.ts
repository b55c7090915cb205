/**
 * 1. Fan-out: publish to N matching subscribers (real WebSocket clients) among non-matching ones,
 * library vs the naive baseline, through DynamoDB Local and the local gateway.
 */
import { appSubscriptions } from '../../example/app-router';
import type { SubscriberRef, SubscriptionStore } from '../../lambda';
import type { Budget } from '../support/budget';
import { startCrowd } from '../support/crowd';
import type { BenchEnv } from '../support/env';
import { fmt, median, ratio, table, wallClockMs } from '../support/stats';
import { startSystem, type SystemName } from '../support/systems';

/** One step: N matching clients, and the non-matching population in the table at that point. */
export interface FanOutStep {
  readonly matching: number;
  readonly nonMatching: number;
  readonly repetitions: number;
}

export function fanOutPlan(quick: boolean): FanOutStep[] {
  return quick
    ? [
      { matching: 100, nonMatching: 1_000, repetitions: 3 },
      { matching: 1_000, nonMatching: 3_000, repetitions: 3 },
    ]
    : [
      { matching: 100, nonMatching: 1_000, repetitions: 5 },
      { matching: 1_000, nonMatching: 10_000, repetitions: 5 },
      // 10x: 100,000 non-matching subscriptions (~2 minutes to write through the store into
      // DynamoDB Local on 2 idle cores; the full run stays well under 10 minutes).
      { matching: 10_000, nonMatching: 100_000, repetitions: 3 },
    ];
}

/** Medians of one step of one system. */
export interface FanOutMeasure {
  readonly wallMs: number;
  readonly publishCallMs: number;
  /** Until the first client had the message (the read phase, mostly). */
  readonly firstMs: number;
  /** CPU time of this process (publisher, gateway, handlers) during the publish, per delivered message. */
  readonly cpuPerMessageMs: number;
  readonly readUnits: number;
  readonly dynamodbRequests: string;
  readonly managementCalls: number;
  readonly delivered: number;
  /** Library only: the gateway's floor, N bare PostToConnection calls at the same concurrency, no DynamoDB read. */
  readonly floorMs?: number;
  /** Library only: the key design's minimum read units (the matching index rows' bytes, 4 KB per unit per partition). */
  readonly minReadUnits?: number;
}

export interface FanOutResult {
  readonly steps: FanOutStep[];
  readonly measures: Record<SystemName, FanOutMeasure[]>;
  /** Total subscribers in the table at each step (matching of every step so far + non-matching). */
  readonly population: number[];
}

async function measureSystem(env: BenchEnv, name: SystemName, steps: FanOutStep[]): Promise<FanOutMeasure[]> {
  const system = await startSystem(env, name);
  const crowd = await startCrowd();
  const results: FanOutMeasure[] = [];
  try {
    let nonMatching = 0;
    for (const step of steps) {
      const room = `room-${step.matching}`;
      const started = Date.now();
      await system.populate(step.nonMatching - nonMatching, (i) => `other-${i % 97}`);
      nonMatching = step.nonMatching;
      const populatedAt = Date.now();
      await crowd.join(room, system.gateway.url, step.matching, 'onMessage', { room });
      env.progress(`  ${name}: N=${step.matching}: table populated in ${populatedAt - started} ms, ${step.matching} clients subscribed in ${Date.now() - populatedAt} ms`);
      const samples: Array<FanOutMeasure & { requests: Record<string, number> }> = [];
      // The floor's publisher (library only): its samples alternate with the library's, so that
      // both see the same machine (a busy spell does not land on one of them only).
      const floor = system.store ? await floorPublisher(system, room) : undefined;
      const floorTimes: number[] = [];
      // Repetition 0 warms up (JIT, keep-alive sockets) and is not counted.
      for (let rep = -1; rep < step.repetitions; rep++) {
        system.meter.reset();
        system.management.POST = 0;
        const { received } = await crowd.arm(room, step.matching, 120_000);
        const cpu0 = process.cpuUsage();
        const t0 = wallClockMs();
        const outcome = await system.publish(room);
        const publishCallMs = wallClockMs() - t0;
        const got = await received;
        const cpu = process.cpuUsage(cpu0);
        if (got.received !== step.matching || outcome.delivered !== step.matching) {
          throw new Error(`${name} N=${step.matching}: ${got.received} clients received, ${outcome.delivered} delivered, ${step.matching} expected`);
        }
        const reading = system.meter.read();
        const managementCalls = system.management.POST;
        if (floor) {
          const floorMs = await floor.measure(crowd, step.matching);
          if (rep >= 0) floorTimes.push(floorMs);
        }
        if (rep < 0) continue;
        samples.push({
          wallMs: got.lastAt - t0,
          publishCallMs,
          firstMs: got.firstAt - t0,
          cpuPerMessageMs: (cpu.user + cpu.system) / 1000 / step.matching,
          readUnits: reading.readUnits,
          dynamodbRequests: '',
          requests: reading.requests,
          managementCalls,
          delivered: outcome.delivered,
        });
      }
      const requests = samples[samples.length - 1].requests;
      results.push({
        ...(floor ? { floorMs: median(floorTimes), minReadUnits: floor.minReadUnits } : {}),
        wallMs: median(samples.map((s) => s.wallMs)),
        publishCallMs: median(samples.map((s) => s.publishCallMs)),
        firstMs: median(samples.map((s) => s.firstMs)),
        cpuPerMessageMs: median(samples.map((s) => s.cpuPerMessageMs)),
        readUnits: median(samples.map((s) => s.readUnits)),
        dynamodbRequests: Object.entries(requests).map(([command, count]) => `${count} ${command}`).join(', '),
        managementCalls: median(samples.map((s) => s.managementCalls)),
        delivered: step.matching,
      });
      env.progress(`  ${name}: N=${step.matching}: median ${fmt(results[results.length - 1].wallMs)} ms`);
    }
  } finally {
    await crowd.close();
    await system.close();
  }
  return results;
}

/**
 * The gateway's own floor for a step: the same publisher posting the same frames at the same
 * concurrency to the subscribers found beforehand (a store that only replays them: no DynamoDB
 * read), timed to the last client; and the minimum read units of the matching index rows.
 */
async function floorPublisher(system: Awaited<ReturnType<typeof startSystem>>, room: string) {
  const query = { path: 'onMessage', filter: { name: 'byRoom', values: [room] } };
  const targets: SubscriberRef[] = [];
  for await (const page of system.store!.findSubscribers(query)) targets.push(...page);
  const replay: SubscriptionStore = { ...system.store!, findSubscribers: async function* () { yield targets; } };
  const publisher = appSubscriptions.publisher({ endpoint: system.gateway.endpoint, store: replay });
  return {
    minReadUnits: await system.minReadUnits(query),
    /** One floor sample: ms from the call until the last of `expected` clients had the frame. */
    async measure(crowd: Awaited<ReturnType<typeof startCrowd>>, expected: number): Promise<number> {
      const { received } = await crowd.arm(room, expected, 120_000);
      const t0 = wallClockMs();
      await publisher.routes.onMessage.publish({ data: { text: 'hello', at: new Date(), from: 'bench' }, filter: { name: 'byRoom', input: { room } } });
      const got = await received;
      if (got.received !== expected) throw new Error(`floor: ${got.received} of ${expected} clients received`);
      return got.lastAt - t0;
    },
  };
}

export async function runFanOut(env: BenchEnv): Promise<FanOutResult> {
  const steps = fanOutPlan(env.quick);
  let matchingSoFar = 0;
  const population = steps.map((step) => (matchingSoFar += step.matching) + step.nonMatching);
  const library = await measureSystem(env, 'library', steps);
  const naive = await measureSystem(env, 'naive', steps);
  return { steps, measures: { library, naive }, population };
}

export function renderFanOut(result: FanOutResult): { markdown: string; budgets: Budget[] } {
  const { steps, measures, population } = result;
  const rows = steps.map((step, i) => {
    const lib = measures.library[i];
    const naive = measures.naive[i];
    return [
      fmt(step.matching, 0), fmt(population[i], 0),
      fmt(lib.wallMs), fmt(naive.wallMs), ratio(naive.wallMs, lib.wallMs),
      fmt(lib.readUnits), fmt(naive.readUnits), ratio(naive.readUnits, lib.readUnits),
      fmt(lib.managementCalls, 0), fmt(naive.managementCalls, 0),
      fmt(lib.floorMs ?? NaN), ratio(lib.wallMs, lib.floorMs ?? NaN, 2),
      fmt(lib.minReadUnits ?? NaN), ratio(lib.readUnits, lib.minReadUnits ?? NaN, 2),
    ];
  });
  const requests = steps.map((step, i) => {
    const lib = measures.library[i];
    const naive = measures.naive[i];
    return [
      fmt(step.matching, 0), lib.dynamodbRequests, naive.dynamodbRequests, fmt(lib.firstMs), fmt(naive.firstMs),
      fmt(lib.publishCallMs), fmt(naive.publishCallMs), fmt(lib.cpuPerMessageMs, 3), fmt(naive.cpuPerMessageMs, 3),
    ];
  });
  const budgets: Budget[] = [];
  // The old "5x faster than naive" and "10x fewer read units" budgets are bounded by the posting
  // floor and the population ratio (docs/performance.md); these compare with the floors instead.
  steps.forEach((step, at) => {
    if (step.matching < 1_000) return;
    const lib = measures.library[at];
    const where = `N=${fmt(step.matching, 0)} among ${fmt(population[at], 0)}`;
    budgets.push([`direct publish: <= 1.3x the gateway's floor (${where})`, ratio(lib.wallMs, lib.floorMs ?? NaN, 2), lib.wallMs <= 1.3 * (lib.floorMs ?? 0)]);
    budgets.push([`direct publish: read units <= 1.2x the key design's minimum (${where})`, ratio(lib.readUnits, lib.minReadUnits ?? NaN, 2), lib.readUnits <= 1.2 * (lib.minReadUnits ?? 0)]);
  });
  const markdown = [
    table(
      [
        'N matching', 'subscribers in table', 'library ms', 'naive ms', 'naive/library', 'library RCU', 'naive RCU', 'naive/library',
        'library PostToConnection', 'naive PostToConnection', 'gateway floor ms', 'library/floor', 'minimum RCU', 'library/minimum',
      ],
      rows,
    ),
    '',
    table([
      'N matching', 'library DynamoDB requests', 'naive DynamoDB requests', 'library first client ms', 'naive first client ms',
      'library publish() returned ms', 'naive publish() returned ms', 'library CPU ms/message', 'naive CPU ms/message',
    ], requests),
  ].join('\n');
  return { markdown, budgets };
}
