import { initTRPC } from '@trpc/server';
import { initSubscriptions, memory } from '../../../lambda';
import { ROW_TTL_ENV } from '../../../lambda/constants';
import { resolveRowTtlSeconds } from '../../../lambda/handlers/settings';
import { connectEvent } from '../support/events';

describe('row TTL of $connect', () => {
  test('defaults to 2 hours 10 minutes, else the environment, else the option', () => {
    expect(resolveRowTtlSeconds(undefined, undefined)).toBe(7800);
    expect(resolveRowTtlSeconds(undefined, '10800')).toBe(10800);
    expect(resolveRowTtlSeconds(9000, '10800')).toBe(9000);
  });

  test.each([
    [undefined, '60', `\`${ROW_TTL_ENV}\` must be a whole number of seconds of at least 7200 (API Gateway's 2-hour connection limit), got: 60`],
    [undefined, 'soon', `\`${ROW_TTL_ENV}\` must be a whole number of seconds of at least 7200 (API Gateway's 2-hour connection limit), got: soon`],
    [7200.5, undefined, "`rowTtlSeconds` must be a whole number of seconds of at least 7200 (API Gateway's 2-hour connection limit), got: 7200.5"],
  ])('option %p / env %p is refused with a message naming it', (option, env, message) => {
    expect(() => resolveRowTtlSeconds(option, env)).toThrow(message);
  });

  test('the connection row expires rowTtlSeconds after the connection opened', async () => {
    const t = initTRPC.create();
    const store = memory();
    const app = initSubscriptions().router({ router: t.router({}) }).store({ store });
    const event = connectEvent('c1');
    await app.connect({ rowTtlSeconds: 9000 })(event);

    const row = await store.getConnection('c1');
    expect(row?.expireAt).toBe(Math.floor(event.requestContext.connectedAt! / 1000) + 9000);
  });
});
