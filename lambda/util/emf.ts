/**
 * CloudWatch Embedded Metric Format, hand-written: one JSON line on stdout per flush, which
 * CloudWatch Logs turns into metrics (no API call, no added latency). Powertools' `Metrics`
 * does the same in about 15 KB of minified bundle (docs/performance.md); this is under 2 KB.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { levelPassingLambdaFilter, type LogLevel } from './logger';
import {
  DEFAULT_METRICS_NAMESPACE, MAX_METRIC_DIMENSIONS, METRICS_DIMENSIONS_ENV, METRICS_ENV, METRICS_LINE_KEYS, METRICS_NAMESPACE_ENV, metricNameOf,
  metricUnitOf, type RuntimeMetricKey,
} from '../metric-names';

/** Options of the runtime's metrics (handlers and publisher). */
export interface MetricsOptions {
  /**
   * Print the metrics.
   * @default - true unless `TRPC_SUBSCRIPTIONS_METRICS` is `off`, `false` or `0`
   */
  readonly enabled?: boolean;
  /**
   * CloudWatch namespace.
   * @default - `TRPC_SUBSCRIPTIONS_METRICS_NAMESPACE`, else 'TrpcSubscriptions'
   */
  readonly namespace?: string;
  /**
   * Dimensions of every metric (names to values).
   * @default - `TRPC_SUBSCRIPTIONS_METRICS_DIMENSIONS` (a JSON object, set by the construct to
   *   `ApiId` and `Stage`), else none
   */
  readonly dimensions?: Readonly<Record<string, string>>;
}

/** Metrics options with every default applied. */
export interface MetricsSettings {
  readonly enabled: boolean;
  readonly namespace: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /**
   * The `level` of every line: one Lambda's log-level filter keeps, whatever the function's
   * application log level (INFO, or that level when it is higher).
   */
  readonly level: LogLevel;
  /** Where lines go: stdout, where CloudWatch Logs picks EMF up. */
  readonly write: (line: string) => void;
}

const OFF_VALUES = new Set(['off', 'false', '0']);

function parseDimensions(text: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const valid = typeof value === 'object' && value !== null && !Array.isArray(value)
    && Object.values(value).every((v) => typeof v === 'string');
  if (!valid) {
    throw new Error(`\`${METRICS_DIMENSIONS_ENV}\` must be a JSON object of string values, got: ${text}`);
  }
  return value as Record<string, string>;
}

/**
 * Settles the metrics options against the environment (the construct sets the three
 * `TRPC_SUBSCRIPTIONS_METRICS*` variables). Throws at start-up on malformed settings.
 */
export function settleMetricsOptions(
  options: MetricsOptions | undefined, env: Readonly<Record<string, string | undefined>>,
): MetricsSettings {
  const enabled = options?.enabled ?? !OFF_VALUES.has((env[METRICS_ENV] ?? '').trim().toLowerCase());
  const namespace = options?.namespace ?? (env[METRICS_NAMESPACE_ENV] || DEFAULT_METRICS_NAMESPACE);
  const envDimensions = env[METRICS_DIMENSIONS_ENV];
  const dimensions = options?.dimensions ?? (enabled && envDimensions ? parseDimensions(envDimensions) : {});
  const count = Object.keys(dimensions).length;
  if (count > MAX_METRIC_DIMENSIONS) {
    throw new Error(`metrics \`dimensions\` must have at most ${MAX_METRIC_DIMENSIONS} entries, got: ${count}`);
  }
  const taken = Object.keys(dimensions).filter((name) => (METRICS_LINE_KEYS as readonly string[]).includes(name));
  if (taken.length > 0) {
    throw new Error(`metrics \`dimensions\` must not be named ${METRICS_LINE_KEYS.join(' or ')} (keys of every metrics line), got: ${taken.join(', ')}`);
  }
  return { enabled, namespace, dimensions, level: levelPassingLambdaFilter(env), write: (line) => process.stdout.write(line) };
}

/** Counts and values recorded since the last flush. */
export interface MetricsRecorder {
  /** Adds `value` (default 1) to a count. */
  count(key: RuntimeMetricKey, value?: number): void;
  /** Records one value of a distribution (e.g. a duration in milliseconds). */
  value(key: RuntimeMetricKey, value: number): void;
  /** Prints what was recorded as one EMF line (nothing when nothing was recorded) and starts over. */
  flush(): void;
}

/**
 * The EMF document of `values`, as one line. Besides the metrics it carries `level` and an
 * RFC 3339 `timestamp`, which Lambda's log-level filter reads (EMF ignores them).
 */
export function emfLine(settings: MetricsSettings, values: ReadonlyMap<RuntimeMetricKey, number | number[]>, timestamp: number): string {
  const metrics = [...values.keys()].map((key) => ({ Name: metricNameOf(key), Unit: metricUnitOf(key) }));
  const document: Record<string, unknown> = {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{ Namespace: settings.namespace, Dimensions: [Object.keys(settings.dimensions)], Metrics: metrics }],
    },
    level: settings.level,
    timestamp: new Date(timestamp).toISOString(),
    ...settings.dimensions,
  };
  for (const [key, value] of values) document[metricNameOf(key)] = value;
  return `${JSON.stringify(document)}\n`;
}

/** A recorder that prints EMF lines, or records nothing when metrics are off. */
export function createMetricsRecorder(settings: MetricsSettings): MetricsRecorder {
  if (!settings.enabled) {
    return { count: () => undefined, value: () => undefined, flush: () => undefined };
  }
  let values = new Map<RuntimeMetricKey, number | number[]>();
  return {
    count(key, value = 1) {
      const current = values.get(key);
      values.set(key, (typeof current === 'number' ? current : 0) + value);
    },
    value(key, value) {
      const current = values.get(key);
      // EMF takes up to 100 values of one metric in an array.
      if (Array.isArray(current)) {
        if (current.length < 100) current.push(value);
      } else {
        values.set(key, [value]);
      }
    },
    flush() {
      if (values.size === 0) return;
      const line = emfLine(settings, values, Date.now());
      values = new Map();
      settings.write(line);
    },
  };
}
