/**
 * `npm run bench` (`-- --quick` for a short run): measures the library against a naive baseline
 * and tRPC's own WebSocket adapter, prints markdown tables and writes them to bench/results/.
 * Loopback only; every server and process it starts is stopped before it exits.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, loadavg } from 'node:os';
import { join } from 'node:path';
import './support/process-env';

import { renderFanOut, runFanOut } from './sections/fan-out';
import { renderHandlerCost, runHandlerCost } from './sections/handler-cost';
import { renderHistory, runHistory } from './sections/history';
import { renderHotPartition, runHotPartition } from './sections/hot-partition';
import { renderLatency, runLatency } from './sections/latency';
import { renderMultiRegion, runMultiRegion } from './sections/multi-region';
import { renderPackedBundle, runPackedBundle } from './sections/packed-bundle';
import { renderQueued, runQueued } from './sections/queued';
import { renderUnits, runUnits } from './sections/units';
import type { Budget } from './support/budget';
import { createEnv } from './support/env';
import { cpuStallMicros, formatPressure, pressureSince, restingCpuPressure } from './support/pressure';
import { table } from './support/stats';

const quick = process.argv.includes('--quick');
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
// Two bounds, so that a run that hangs ends, and a run that is only slow (a busy machine takes
// 2-3x as long: DynamoDB Local writes the 10x populations one request at a time) finishes:
// the whole run, and the time without a progress line (every step of every section prints one).
const deadlineMs = quick ? 600_000 : 1_800_000;
const stallMs = 360_000;
let lastProgressAt = performance.now();

function progress(message: string): void {
  lastProgressAt = performance.now();
  process.stderr.write(`[bench ${((performance.now()) / 1000).toFixed(1)}s] ${message}\n`);
}

interface Section {
  readonly id: string;
  readonly title: string;
  run(env: Awaited<ReturnType<typeof createEnv>>): Promise<{ markdown: string; budgets: Budget[] }>;
}

const sections: Section[] = [
  { id: 'fan-out', title: '1. Fan-out: library vs naive baseline', run: async (env) => renderFanOut(await runFanOut(env)) },
  { id: 'latency', title: '2. Latency: library vs tRPC applyWSSHandler', run: async (env) => renderLatency(await runLatency(env)) },
  { id: 'handler-cost', title: '3. Handler cost: bundle, cold init, CPU per message, PING', run: async (env) => renderHandlerCost(await runHandlerCost(env)) },
  { id: 'units', title: '4. Read and write units per operation', run: async (env) => ({ markdown: renderUnits(await runUnits(env)), budgets: [] }) },
  { id: 'multi-region', title: '5. Multi-region: remote delivery, forwarding, a Region down', run: async (env) => ({ markdown: renderMultiRegion(await runMultiRegion(env)), budgets: [] }) },
  { id: 'packed-bundle', title: '6. Function bundles from the packed package: size, own init, cold start', run: async (env) => renderPackedBundle(await runPackedBundle(env)) },
  { id: 'history', title: '7. Event history: publish and replay cost', run: async (env) => renderHistory(await runHistory(env)) },
  { id: 'queued', title: '8. Queued fan-out at simulated AWS scale', run: async (env) => renderQueued(await runQueued(env)) },
  { id: 'hot-partition', title: '9. Flash crowd on one route: the busiest index partition', run: async (env) => renderHotPartition(await runHotPartition(env)) },
];

async function main(): Promise<number> {
  const started = Date.now();
  const loadBefore = loadavg()[0];
  // Before anything starts: what the machine's other tenants cost every figure of this run.
  const restingPressure = await restingCpuPressure(3000);
  const env = await createEnv(quick, progress);
  const abort = (reason: string) => {
    progress(`${reason}: aborting`);
    void env.dispose().finally(() => process.exit(2));
  };
  const watchdog = setTimeout(() => abort(`deadline of ${deadlineMs / 1000} s passed`), deadlineMs);
  const stallWatch = setInterval(() => {
    if (performance.now() - lastProgressAt > stallMs) abort(`no progress for ${stallMs / 1000} s`);
  }, 10_000);
  const output: string[] = [];
  const budgets: Budget[] = [];
  let failed = false;
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: stopping`);
    void env.dispose().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const section of sections) {
      if (only && !only.includes(section.id)) continue;
      progress(`${section.title}...`);
      const sectionStart = Date.now();
      const loadAtStart = loadavg()[0];
      const stallAtStart = cpuStallMicros();
      const clockAtStart = performance.now();
      const { markdown: sectionText, budgets: sectionBudgets } = await section.run(env);
      // The environment of every table: the machine may be shared, and its load moves the figures.
      const text = `${sectionText}\n\n_Environment: ${cpus().length} cores, 1-minute load average ${loadAtStart.toFixed(2)} at the start of this section, ${loadavg()[0].toFixed(2)} at its end; CPU pressure (some task waiting for a core) ${formatPressure(pressureSince(stallAtStart, clockAtStart))} of the section's time, ${formatPressure(restingPressure)} at rest before the run._`;
      budgets.push(...sectionBudgets);
      output.push(`## ${section.title}\n\n${text}\n`);
      process.stdout.write(`\n## ${section.title}\n\n${text}\n`);
      progress(`${section.title}: ${((Date.now() - sectionStart) / 1000).toFixed(1)} s`);
    }
    if (budgets.length > 0) {
      const text = table(['budget', 'this run', 'met'], budgets.map(([budget, figure, met]) => [budget, figure, met ? 'yes' : '**no**']));
      output.push(`## Budgets\n\n${text}\n`);
      process.stdout.write(`\n## Budgets\n\n${text}\n`);
    }
    if (env.errors.length > 0) {
      failed = true;
      progress(`handlers logged ${env.errors.length} error(s), first: ${env.errors[0]}`);
    }
  } catch (error) {
    failed = true;
    progress(`failed: ${(error as Error)?.stack ?? String(error)}`);
  } finally {
    clearTimeout(watchdog);
    clearInterval(stallWatch);
    await env.dispose();
  }
  const machine = [
    `- mode: ${quick ? '--quick' : 'full'}; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
    `- CPU: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}; RAM ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Node.js ${process.version}`,
    `- 1-minute load average at start: ${loadBefore.toFixed(2)}, at end: ${loadavg()[0].toFixed(2)}`,
    `- CPU pressure at rest before the run (/proc/pressure/cpu, some task waiting for a core while the bench only waited 3 s): ${formatPressure(restingPressure)}; `
      + 'above a few percent, the host shares these cores and every timed figure is slower',
  ].join('\n');
  const markdown = `# cdk-trpc-subscriptions benchmark (${new Date().toISOString()})\n\n${machine}\n\n${output.join('\n')}`;
  process.stdout.write(`\n${machine}\n`);
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${quick ? 'quick' : 'full'}-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
  writeFileSync(file, markdown);
  progress(`wrote ${file}`);
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (error: unknown) => {
  progress(`internal error: ${String(error)}`);
  process.exit(1);
});
