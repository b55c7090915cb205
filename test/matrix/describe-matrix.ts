/**
 * Runs every capability of ./capabilities.ts in one mode, in every cell of that mode (acting from
 * each Region on clients of each Region), on one deployment shared by the mode's tests.
 */
import { CAPABILITIES } from './capabilities';
import { connectClient, type MatrixClient, type Mode, type World } from './world';

let runs = 0;

/** The test name of a cell: where the action runs and where the client is. */
export function cellName(mode: Mode, from: string, to: string): string {
  return mode.regions.length === 1 ? 'acting on a client' : `acting from ${from} on a client of ${to}`;
}

/** Declares the mode's tests: `<capability> › <cell>`. */
export function describeMatrix(mode: Mode): void {
  let world: World | undefined;
  const clients: MatrixClient[] = [];
  beforeAll(async () => {
    world = await mode.start();
  }, 120_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await world?.close();
  }, 60_000);

  const cells = mode.regions.flatMap((from) => mode.regions.map((to) => ({ from, to })));
  describe.each(CAPABILITIES.map((capability) => [capability.name, capability] as const))('%s', (_name, capability) => {
    test.each(cells.map((cell) => [cellName(mode, cell.from, cell.to), cell] as const))('%s', async (_cellName, { from, to }) => {
      const tag = `${capability.name.replace(/\W+/g, '-')}-${from}-${to}-${++runs}`;
      await capability.run({
        world: world!,
        from,
        to,
        tag,
        connect: (region, userId = `u-${tag}`) => {
          const client = connectClient(world!, region, userId);
          clients.push(client);
          return client;
        },
      });
    }, 60_000);
  });
}
