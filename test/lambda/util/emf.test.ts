import {
  DEFAULT_METRICS_NAMESPACE, METRICS_DIMENSIONS_ENV, METRICS_ENV, METRICS_NAMESPACE_ENV, RUNTIME_METRICS,
  type RuntimeMetricKey,
} from '../../../lambda/metric-names';
import { createMetricsRecorder, settleMetricsOptions, type MetricsSettings } from '../../../lambda/util/emf';

function capture(settings: Omit<MetricsSettings, 'write' | 'level'>): { settings: MetricsSettings; lines: string[] } {
  const lines: string[] = [];
  return { settings: { level: 'INFO', ...settings, write: (line) => lines.push(line) }, lines };
}

describe('settleMetricsOptions', () => {
  test('GIVEN no options and no environment WHEN settled THEN metrics are on in the default namespace without dimensions', () => {
    const settings = settleMetricsOptions(undefined, {});

    expect(settings).toMatchObject({ enabled: true, namespace: DEFAULT_METRICS_NAMESPACE, dimensions: {} });
  });

  test('GIVEN the construct\'s environment WHEN settled THEN its namespace and dimensions are used', () => {
    const settings = settleMetricsOptions(undefined, {
      [METRICS_NAMESPACE_ENV]: 'Acme/Chat',
      [METRICS_DIMENSIONS_ENV]: '{"ApiId":"abc123","Stage":"prod"}',
    });

    expect(settings).toMatchObject({ enabled: true, namespace: 'Acme/Chat', dimensions: { ApiId: 'abc123', Stage: 'prod' } });
  });

  test.each(['off', 'OFF', 'false', '0'])('GIVEN %s in the off switch WHEN settled THEN metrics are off', (value) => {
    expect(settleMetricsOptions(undefined, { [METRICS_ENV]: value }).enabled).toBe(false);
  });

  test('GIVEN options WHEN settled THEN they win over the environment', () => {
    const settings = settleMetricsOptions(
      { enabled: true, namespace: 'Mine', dimensions: { Service: 'chat' } },
      { [METRICS_ENV]: 'off', [METRICS_NAMESPACE_ENV]: 'Theirs', [METRICS_DIMENSIONS_ENV]: '{"ApiId":"x"}' },
    );

    expect(settings).toMatchObject({ enabled: true, namespace: 'Mine', dimensions: { Service: 'chat' } });
  });

  test.each([
    [{}, 'INFO'],
    [{ AWS_LAMBDA_LOG_LEVEL: 'DEBUG' }, 'INFO'],
    [{ AWS_LAMBDA_LOG_LEVEL: 'WARN' }, 'WARN'],
    [{ AWS_LAMBDA_LOG_LEVEL: 'error' }, 'ERROR'],
    [{ AWS_LAMBDA_LOG_LEVEL: 'FATAL' }, 'FATAL'],
    [{ AWS_LAMBDA_LOG_LEVEL: 'loud' }, 'INFO'],
  ])('GIVEN %j WHEN settled THEN the lines\' level is %s (at least INFO, at least the function\'s level)', (env, level) => {
    expect(settleMetricsOptions(undefined, env).level).toBe(level);
  });

  test.each(['level', 'timestamp'])('GIVEN a dimension named %s WHEN settled THEN it throws (a key of every line)', (name) => {
    expect(() => settleMetricsOptions({ dimensions: { [name]: 'x' } }, {}))
      .toThrow(`metrics \`dimensions\` must not be named level or timestamp (keys of every metrics line), got: ${name}`);
  });

  test.each(['not json', '[1]', '{"ApiId":1}'])('GIVEN dimensions %s WHEN settled THEN it throws naming the variable', (text) => {
    expect(() => settleMetricsOptions(undefined, { [METRICS_DIMENSIONS_ENV]: text }))
      .toThrow(`\`${METRICS_DIMENSIONS_ENV}\` must be a JSON object of string values, got: ${text}`);
  });
});

describe('createMetricsRecorder', () => {
  test('GIVEN counts and values WHEN flushed THEN one EMF line declares each metric with its unit and carries the dimensions', () => {
    const { settings, lines } = capture({ enabled: true, namespace: 'TrpcSubscriptions', dimensions: { ApiId: 'abc', Stage: 'prod' } });
    const recorder = createMetricsRecorder(settings);

    recorder.count('publishes');
    recorder.count('messagesDelivered', 3);
    recorder.count('messagesDelivered', 2);
    recorder.value('fanOutDuration', 12.5);
    recorder.value('fanOutDuration', 7);
    recorder.flush();

    expect(lines).toHaveLength(1);
    expect(lines[0].endsWith('\n')).toBe(true);
    const document = JSON.parse(lines[0]);
    expect(document._aws.Timestamp).toEqual(expect.any(Number));
    expect(document.level).toBe('INFO');
    expect(document.timestamp).toBe(new Date(document._aws.Timestamp).toISOString());
    expect(document._aws.CloudWatchMetrics).toEqual([{
      Namespace: 'TrpcSubscriptions',
      Dimensions: [['ApiId', 'Stage']],
      Metrics: [
        { Name: RUNTIME_METRICS.publishes.name, Unit: 'Count' },
        { Name: RUNTIME_METRICS.messagesDelivered.name, Unit: 'Count' },
        { Name: RUNTIME_METRICS.fanOutDuration.name, Unit: 'Milliseconds' },
      ],
    }]);
    expect(document).toMatchObject({ ApiId: 'abc', Stage: 'prod', Publishes: 1, MessagesDelivered: 5, FanOutDuration: [12.5, 7] });
  });

  test('GIVEN nothing recorded since the last flush WHEN flushed THEN nothing is printed', () => {
    const { settings, lines } = capture({ enabled: true, namespace: 'N', dimensions: {} });
    const recorder = createMetricsRecorder(settings);

    recorder.count('connectionsOpened');
    recorder.flush();
    recorder.flush();

    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])._aws.CloudWatchMetrics[0].Dimensions).toEqual([[]]);
  });

  test('GIVEN metrics off WHEN recorded and flushed THEN nothing is printed', () => {
    const { settings, lines } = capture({ enabled: false, namespace: 'N', dimensions: {} });
    const recorder = createMetricsRecorder(settings);

    recorder.count('connectionsOpened');
    recorder.flush();

    expect(lines).toEqual([]);
  });

  test('GIVEN more than 100 values WHEN flushed THEN the line keeps the first 100 (the EMF limit)', () => {
    const { settings, lines } = capture({ enabled: true, namespace: 'N', dimensions: {} });
    const recorder = createMetricsRecorder(settings);

    for (let i = 0; i < 150; i++) recorder.value('fanOutDuration', i);
    recorder.flush();

    expect(JSON.parse(lines[0]).FanOutDuration).toHaveLength(100);
  });

  test('GIVEN every runtime metric WHEN recorded and flushed THEN the line names each with the name and unit of RUNTIME_METRICS', () => {
    const { settings, lines } = capture({ enabled: true, namespace: 'N', dimensions: {} });
    const recorder = createMetricsRecorder(settings);
    const keys = Object.keys(RUNTIME_METRICS) as RuntimeMetricKey[];

    for (const key of keys) recorder.count(key);
    recorder.flush();

    const document = JSON.parse(lines[0]);
    const declared = keys.map((key) => ({ Name: RUNTIME_METRICS[key].name, Unit: RUNTIME_METRICS[key].unit }));
    expect(document._aws.CloudWatchMetrics[0].Metrics).toEqual(declared);
    for (const key of keys) expect(document[RUNTIME_METRICS[key].name]).toBe(1);
  });
});
