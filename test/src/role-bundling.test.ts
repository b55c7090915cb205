import { realtimeStack } from './helpers';
import { HISTORY_DEFINE, HOOKS_DEFINE, MULTI_REGION_DEFINE, PRESENCE_DEFINE, ROLE_DEFINE } from '../../lambda/constants';
import { DEFAULT_BUNDLING } from '../../src/function-defaults';
import { roleBundling } from '../../src/role-bundling';

describe('roleBundling', () => {
  /** What every feature kept defines: each feature's tests fold to "kept". */
  const EVERY_FEATURE = { [PRESENCE_DEFINE]: '"on"', [HOOKS_DEFINE]: '"on"', [HISTORY_DEFINE]: '"on"', [MULTI_REGION_DEFINE]: '"on"' };

  test('GIVEN a role WHEN settled THEN the defaults apply and the role is defined as a string literal, every feature kept', () => {
    expect(roleBundling('connect', undefined, true)).toEqual({ ...DEFAULT_BUNDLING, define: { ...EVERY_FEATURE, [ROLE_DEFINE]: '"connect"' } });
  });

  test('GIVEN user bundling with its own defines WHEN settled THEN they are kept, over the defaults, and the role wins its own expression', () => {
    const bundling = roleBundling('worker', { minify: false, define: { 'process.env.FLAG': '"on"', [ROLE_DEFINE]: '"message"' } }, true);

    expect(bundling).toEqual({ ...DEFAULT_BUNDLING, minify: false, define: { 'process.env.FLAG': '"on"', ...EVERY_FEATURE, [ROLE_DEFINE]: '"worker"' } });
  });

  test('GIVEN perRole false WHEN settled THEN no role is defined, so every function gets the same options', () => {
    expect(roleBundling('message', { define: { 'process.env.FLAG': '"on"' } }, false))
      .toEqual({ ...DEFAULT_BUNDLING, define: { 'process.env.FLAG': '"on"', ...EVERY_FEATURE } });
    expect(roleBundling('connect', undefined, false)).toEqual(roleBundling('rollover', undefined, false));
  });

  test('GIVEN features left out WHEN settled THEN each is defined "off" beside the role, with or without per-role bundles', () => {
    expect(roleBundling('disconnect', undefined, true, { presence: false, hooks: false, history: false, multiRegion: false })).toEqual({
      ...DEFAULT_BUNDLING,
      define: { [PRESENCE_DEFINE]: '"off"', [HOOKS_DEFINE]: '"off"', [HISTORY_DEFINE]: '"off"', [MULTI_REGION_DEFINE]: '"off"', [ROLE_DEFINE]: '"disconnect"' },
    });
    expect(roleBundling('message', undefined, false, { hooks: false })).toEqual({
      ...DEFAULT_BUNDLING, define: { [PRESENCE_DEFINE]: '"on"', [HOOKS_DEFINE]: '"off"', [HISTORY_DEFINE]: '"on"', [MULTI_REGION_DEFINE]: '"on"' },
    });
  });

  test('GIVEN features kept explicitly WHEN settled THEN the options equal the default ones', () => {
    expect(roleBundling('connect', undefined, true, { presence: true, hooks: true, history: true, multiRegion: true })).toEqual(roleBundling('connect', undefined, true));
  });
});

test('GIVEN queuedFanOut WHEN synthesised THEN the worker has its own code asset too', () => {
  const { template } = realtimeStack({ queuedFanOut: {} });

  const functions = Object.values(template().findResources('AWS::Lambda::Function'));
  expect(functions).toHaveLength(5);
  expect(new Set(functions.map((fn) => JSON.stringify(fn.Properties.Code))).size).toBe(5);
});
