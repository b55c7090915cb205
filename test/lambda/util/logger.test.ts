import { createJsonLogger, logLevelFromEnvironment } from '../../../lambda/util/logger';

describe('logLevelFromEnvironment', () => {
  test.each([
    [{}, 'WARN'],
    [{ AWS_LAMBDA_LOG_LEVEL: 'DEBUG' }, 'DEBUG'],
    [{ POWERTOOLS_LOG_LEVEL: 'debug' }, 'DEBUG'],
    [{ POWERTOOLS_LOG_LEVEL: 'ERROR', AWS_LAMBDA_LOG_LEVEL: 'DEBUG' }, 'ERROR'],
    // Lambda drops lines below its own level: a lower Powertools level cannot bring them back.
    [{ POWERTOOLS_LOG_LEVEL: 'DEBUG', AWS_LAMBDA_LOG_LEVEL: 'ERROR' }, 'ERROR'],
    [{ POWERTOOLS_LOG_LEVEL: 'loud' }, 'WARN'],
  ])('GIVEN %j WHEN resolved THEN %s', (env, level) => {
    expect(logLevelFromEnvironment(env)).toBe(level);
  });
});

describe('createJsonLogger', () => {
  function captured(level: Parameters<typeof createJsonLogger>[0]) {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createJsonLogger(level, (line) => lines.push(JSON.parse(line)));
    return { logger, lines };
  }

  test('GIVEN level DEBUG WHEN debug, warn and error are written THEN all three lines appear', () => {
    const { logger, lines } = captured('DEBUG');
    logger.debug?.('d');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((line) => line.level)).toEqual(['debug', 'warn', 'error']);
  });

  test('GIVEN level ERROR WHEN a warning is written THEN nothing appears', () => {
    const { logger, lines } = captured('ERROR');
    logger.warn('w');
    logger.debug?.('d');
    expect(lines).toEqual([]);
  });

  test('GIVEN details with a message key WHEN written THEN the line keeps its own message and the detail is kept beside it', () => {
    const { logger, lines } = captured('WARN');
    logger.error('publish could not be delivered', { name: 'InternalServerErrorException', message: 'Internal server error', statusCode: 500 });
    expect(lines).toEqual([{
      level: 'error',
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      source: 'cdk-trpc-subscriptions',
      message: 'publish could not be delivered',
      name: 'InternalServerErrorException',
      detailMessage: 'Internal server error',
      statusCode: 500,
    }]);
  });

  test('GIVEN an Error in the details WHEN written THEN its name, message and stack are written', () => {
    const { logger, lines } = captured('WARN');
    logger.error('failed', { error: new TypeError('boom') });
    expect(lines[0].error).toEqual({ name: 'TypeError', message: 'boom', stack: expect.stringContaining('TypeError: boom') });
  });
});

describe('defaultLogger', () => {
  test('GIVEN AWS_LAMBDA_LOG_LEVEL=ERROR WHEN a warning and an error are logged THEN only the error reaches stderr', () => {
    const written: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const saved = process.env.AWS_LAMBDA_LOG_LEVEL;
    process.env.AWS_LAMBDA_LOG_LEVEL = 'ERROR';
    try {
      jest.isolateModules(() => {
        const { defaultLogger } = jest.requireActual<typeof import('../../../lambda/util/logger')>('../../../lambda/util/logger');
        defaultLogger.warn('not written');
        defaultLogger.error('written', { message: 'detail' });
      });
    } finally {
      write.mockRestore();
      if (saved === undefined) delete process.env.AWS_LAMBDA_LOG_LEVEL;
      else process.env.AWS_LAMBDA_LOG_LEVEL = saved;
    }
    expect(written.map((line) => JSON.parse(line))).toEqual([
      { level: 'error', timestamp: expect.any(String), source: 'cdk-trpc-subscriptions', message: 'written', detailMessage: 'detail' },
    ]);
  });
});
