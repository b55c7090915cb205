import type { SubscriptionsConfig } from './config';
import { isRecord } from '../util/guards';

/** Options of `.routes.<path>.history()`. */
export interface HistoryOptions {
  /**
   * How long each event stays resumable, in seconds (a whole number, at least 1). A client that
   * resumes with an older `lastEventId` gets a PRECONDITION_FAILED error starting "History
   * expired" instead of a silent gap.
   * @default 3600
   */
  readonly retentionSeconds?: number;
}

/** {@link HistoryOptions} with every default applied. @internal */
export interface HistorySettings {
  readonly retentionSeconds: number;
}

/** Configured histories by procedure path. @internal */
export type HistoryRegistry = ReadonlyMap<string, HistorySettings>;

/** Default of {@link HistoryOptions.retentionSeconds}. */
export const DEFAULT_HISTORY_RETENTION_SECONDS = 3600;

/** Validates `.routes.<path>.history(options)`. @internal */
export function toHistorySettings(path: string, options: unknown, existing: HistoryRegistry | undefined): HistorySettings {
  if (existing?.has(path)) throw new Error(`routes.${path}.history(): the route already keeps a history`);
  if (options !== undefined && !isRecord(options)) {
    throw new Error(`routes.${path}.history(): options must be an object like { retentionSeconds: 120 }, got: ${JSON.stringify(options)}`);
  }
  const retentionSeconds = options?.retentionSeconds ?? DEFAULT_HISTORY_RETENTION_SECONDS;
  if (typeof retentionSeconds !== 'number' || !Number.isSafeInteger(retentionSeconds) || retentionSeconds < 1) {
    throw new Error(`routes.${path}.history(): \`retentionSeconds\` must be a whole number of seconds, at least 1, got: ${JSON.stringify(retentionSeconds)}`);
  }
  return { retentionSeconds };
}

/** The history settings of a route, when it keeps one. @internal */
export function historyOf(config: SubscriptionsConfig, path: string): HistorySettings | undefined {
  return config.history?.get(path);
}
