/** Free and taken TCP ports on this machine, for the local services. */
import { createServer } from 'node:net';

/** Another process listens on a port this tool was asked to use. */
export class PortInUseError extends Error {
  readonly code = 'EADDRINUSE';
  constructor(readonly port: number, readonly option: string) {
    super(`Port ${port} is in use by another process (another \`dev\`?): pass another with ${option} (0 picks a free one), or stop that process.`);
    this.name = 'PortInUseError';
  }
}

/** Ask the operating system for a free TCP port on 127.0.0.1. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Whether nothing listens on `port`. Probed on every interface, as DynamoDB Local binds them all:
 * a listener on 127.0.0.1 alone, or on another interface, makes the port taken as well.
 */
export async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
      else reject(error);
    });
    server.listen(port, () => server.close(() => resolve(true)));
  });
}
