import { describeMatrix } from './describe-matrix';
import { production, runtimeOutput } from './production';

/**
 * Every server-side capability with the construct's recommended production props, the app
 * configured only by the environment the construct gives its functions (docs/runtime.md, "Modes
 * and capabilities").
 */
describeMatrix(production);

// In a describe block: it runs after the matrix's blocks, on what they made the runtime print.
describe('runtime output', () => {
  test('the runtime printed valid metrics under the construct\'s namespace and dimensions, and logged no error', () => {
    expect(runtimeOutput.emf.length).toBeGreaterThan(0);
    for (const line of runtimeOutput.emf) {
      const metrics = JSON.parse(line);
      expect(metrics._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'TrpcSubscriptions', Dimensions: [['ApiId', 'Stage']] });
      expect([metrics.ApiId, metrics.Stage]).toEqual(['local-api', 'prod']);
    }
    expect(runtimeOutput.logs.map((line) => JSON.parse(line)).filter((entry) => entry.level === 'ERROR' || entry.level === 'error')).toEqual([]);
  });
});
