import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { defaultNodejsRuntime } from '../../src/function-defaults';

describe('defaultNodejsRuntime', () => {
  test('GIVEN an aws-cdk-lib that names Node.js 24 WHEN asked THEN it is that runtime', () => {
    expect(defaultNodejsRuntime()).toBe(Runtime.NODEJS_24_X);
  });

  test('GIVEN an aws-cdk-lib older than 2.224 (no NODEJS_24_X) WHEN asked THEN the same runtime by its identifier', () => {
    const named = Object.getOwnPropertyDescriptor(Runtime, 'NODEJS_24_X')!;
    Object.defineProperty(Runtime, 'NODEJS_24_X', { value: undefined, configurable: true });
    try {
      const runtime = defaultNodejsRuntime();
      expect(runtime.runtimeEquals(named.value as Runtime)).toBe(true);
      expect(runtime.name).toBe('nodejs24.x');
    } finally {
      Object.defineProperty(Runtime, 'NODEJS_24_X', named);
    }
  });
});
