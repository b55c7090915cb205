import fc from 'fast-check';

/**
 * fast-check settings of the reliability suites: a fixed seed (override with FC_SEED=<n>) so CI
 * is reproducible; fast-check prints the seed and the counterexample path on failure, and
 * {@link fcParams} adds the command that replays it.
 */
export const FC_SEED = Number(process.env.FC_SEED ?? 20_260_601);

/** Parameters for `fc.assert`, with a bounded number of runs. */
export function fcParams<T>(numRuns: number): fc.Parameters<T> {
  return {
    seed: FC_SEED,
    numRuns: Number(process.env.FC_RUNS ?? numRuns),
    // Replaying a failure: FC_SEED=<seed> npx jest <file>; fast-check prints seed and path.
    reporter: (details) => {
      if (details.failed) {
        const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        throw new Error(`${fc.defaultReportMessage(details)}\nReplay: FC_SEED=${details.seed} npx jest ${expect.getState().testPath ?? ''}\nCause: ${cause}`);
      }
    },
  };
}

/** Collects unhandled rejections and uncaught exceptions while a suite runs. */
export function trackUnhandled(): { readonly errors: unknown[]; dispose(): void } {
  const errors: unknown[] = [];
  const onError = (error: unknown) => errors.push(error);
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  return {
    errors,
    dispose: () => {
      process.off('unhandledRejection', onError);
      process.off('uncaughtException', onError);
    },
  };
}

/** A logger that keeps what it gets (the handlers' `logger` option), so runs stay quiet. */
export function quietLogger(): {
  readonly entries: { level: string; message: string; details?: Record<string, unknown> }[];
  error(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
} {
  const entries: { level: string; message: string; details?: Record<string, unknown> }[] = [];
  return {
    entries,
    error: (message, details) => void entries.push({ level: 'error', message, details }),
    warn: (message, details) => void entries.push({ level: 'warn', message, details }),
  };
}
