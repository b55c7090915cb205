import { TRPCClientError } from '@trpc/client';
import { memory, type ConnectHandlerOptions } from '../../../lambda';
import { startLocalGateway, type LocalGateway, type LocalLogger } from '../../../lambda/local';
import { appSubscriptions } from '../../fixtures/router';
import { connectClient, waitFor } from '../support/harness';

/** The local gateway (what `dev` runs) logs each refused connection with its code and message. */
let gateway: LocalGateway | undefined;
const closers: Array<() => void> = [];
afterEach(async () => {
  closers.splice(0).forEach((close) => close());
  await gateway?.close();
  gateway = undefined;
});

async function start(connect: ConnectHandlerOptions = {}): Promise<string[]> {
  const lines: string[] = [];
  const logger: LocalLogger = { debug: () => undefined, info: (message) => lines.push(message), warn: () => undefined, error: () => undefined };
  const store = memory();
  gateway = await startLocalGateway({
    handlers: {
      connect: appSubscriptions.connect({ store, ...connect }),
      handler: appSubscriptions.handler({ store }),
      disconnect: appSubscriptions.disconnect({ store }),
    },
    logger,
  });
  return lines;
}

test('a refusal by createContext is logged with its code and message', async () => {
  const lines = await start();
  const { client, close } = connectClient(`${gateway!.url}/?token=invalid`);
  closers.push(close);
  await expect(client.whoami.query()).rejects.toBeInstanceOf(TRPCClientError);
  await waitFor(() => lines.some((line) => line.endsWith('connection error UNAUTHORIZED: Invalid token')));
});

test('with refuseWith: http-status, the refused upgrade is logged with its status and message', async () => {
  const lines = await start({ refuseWith: 'http-status' });
  const { client, close } = connectClient(`${gateway!.url}/?token=invalid`);
  closers.push(close);
  void client.whoami.query().catch(() => undefined);
  await waitFor(() => lines.some((line) => /^\$connect refused \S+ \(401: Invalid token\)$/.test(line)));
});
