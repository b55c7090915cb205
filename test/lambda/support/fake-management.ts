import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake Management API received. */
export interface ReceivedPost {
  readonly method: string;
  readonly connectionId: string;
  readonly body: string;
}

/**
 * A real HTTP server standing in for the API Gateway Management API, for faults a gateway does
 * not produce on demand: scripted statuses per connection (429 then 200, 410, 413, 500) and a
 * delay per request, recording what it got and the most requests it had in flight.
 */
export interface FakeManagementApi {
  readonly endpoint: string;
  readonly received: ReceivedPost[];
  /** Most requests in flight at once. */
  maxInFlight(): number;
  /** Statuses to answer for a connection, in order; then 200. */
  script(connectionId: string, statuses: number[]): void;
  /** Status to answer for a connection forever. */
  always(connectionId: string, status: number): void;
  delivered(): string[];
  close(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = {
  410: 'GoneException', 413: 'PayloadTooLargeException', 429: 'LimitExceededException', 403: 'ForbiddenException',
};

export async function startFakeManagementApi(options: { delayMs?: number; stage?: string } = {}): Promise<FakeManagementApi> {
  const stage = options.stage ?? 'test';
  const received: ReceivedPost[] = [];
  const scripts = new Map<string, number[]>();
  const fixed = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const connectionId = decodeURIComponent((req.url ?? '').split('/@connections/')[1] ?? '');
      received.push({ method: req.method ?? '', connectionId, body: Buffer.concat(chunks).toString('utf8') });
      const status = fixed.get(connectionId) ?? scripts.get(connectionId)?.shift() ?? 200;
      setTimeout(() => {
        inFlight--;
        if (status === 200) {
          res.writeHead(200).end();
        } else {
          res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': ERROR_TYPES[status] ?? 'InternalServerErrorException' })
            .end(JSON.stringify({ message: `status ${status}` }));
        }
      }, options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/${stage}`,
    received,
    maxInFlight: () => maxInFlight,
    script: (connectionId, statuses) => scripts.set(connectionId, [...statuses]),
    always: (connectionId, status) => fixed.set(connectionId, status),
    delivered: () => [...new Set(received.filter((r) => r.method === 'POST').map((r) => r.connectionId))].sort(),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
