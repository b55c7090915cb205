import { readableError } from '../../example/web/page/readable-error';

/** The page turns a validator's JSON message into sentences (what a user would otherwise see raw). */
describe('readableError', () => {
  const issues = (...list: object[]) => new Error(JSON.stringify(list, null, 2));

  test('string length issues name the field and the limit', () => {
    expect(readableError(issues({ origin: 'string', code: 'too_big', maximum: 500, inclusive: true, path: ['text'], message: 'Invalid input' })))
      .toBe('The message is too long: at most 500 characters.');
    expect(readableError(issues({ origin: 'string', code: 'too_small', minimum: 1, path: ['text'], message: 'Invalid input' })))
      .toBe('The message is empty.');
    expect(readableError(issues(
      { origin: 'string', code: 'too_small', minimum: 3, path: ['room'], message: 'Invalid input' },
      { code: 'invalid_type', path: ['extra', 'field'], message: 'Expected string' },
    ))).toBe('The room name is too short: at least 3 characters. "extra.field": Expected string.');
  });

  test('anything else keeps its message', () => {
    expect(readableError(new Error('Rate exceeded'))).toBe('Rate exceeded');
    expect(readableError(new Error('[not json'))).toBe('[not json');
    expect(readableError(new Error('[1, 2]'))).toBe('[1, 2]');
    expect(readableError('plain')).toBe('plain');
  });
});
