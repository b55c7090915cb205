/**
 * CPU pressure (Linux PSI, /proc/pressure/cpu): the share of wall time during which some runnable
 * task waited for a CPU. On a virtual machine whose cores the host shares, it is above zero even
 * when nothing here runs, and every timed figure of the run is slower by about as much; the load
 * average cannot show that.
 */
import { readFileSync } from 'node:fs';

/** The cumulative stall of `some` task in µs, or `undefined` where PSI is not available. */
export function cpuStallMicros(): number | undefined {
  try {
    const some = readFileSync('/proc/pressure/cpu', 'utf8').split('\n').find((line) => line.startsWith('some '));
    const total = some && /total=(\d+)/.exec(some)?.[1];
    return total ? Number(total) : undefined;
  } catch {
    return undefined;
  }
}

/** Measures the pressure over the next `ms` from a stall reading and a clock: a share in [0, 1]. */
export function pressureSince(stall0: number | undefined, t0Ms: number): number | undefined {
  const stall = cpuStallMicros();
  const elapsedUs = (performance.now() - t0Ms) * 1000;
  return stall0 === undefined || stall === undefined || elapsedUs <= 0 ? undefined : Math.min(1, (stall - stall0) / elapsedUs);
}

/** The pressure while this process only waits for `ms`: what others on the machine (or the host) cause. */
export async function restingCpuPressure(ms: number): Promise<number | undefined> {
  const stall0 = cpuStallMicros();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return pressureSince(stall0, t0);
}

/** `23%`, or `n/a` without PSI. */
export function formatPressure(share: number | undefined): string {
  return share === undefined ? 'n/a' : `${(share * 100).toFixed(0)}%`;
}
