/**
 * Loopback stand-ins that record the AWS requests a process makes: a proxy in front of DynamoDB
 * Local, and a Management API (`@connections`) that answers 200 to everything. The cold-start
 * measurement replays what they recorded from a bare handler, so that its floor makes exactly
 * the library's requests.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as sent. */
export interface RecordedRequest {
  readonly service: 'dynamodb' | 'management';
  /** DynamoDB: the `X-Amz-Target` operation (`BatchWriteItem`); Management API: `POST`, `GET` or `DELETE`. */
  readonly operation: string;
  /** Management API: the path (`/prod/@connections/{id}`). */
  readonly path: string;
  readonly body: string;
  /** When it arrived (`performance.now()`), to merge the two recorders' requests in order. */
  readonly at: number;
}

/** A recording server on loopback. */
export interface Recorder {
  /** Its base URL. */
  readonly endpoint: string;
  /** What it recorded since the last call, in arrival order. */
  take(): RecordedRequest[];
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A proxy to DynamoDB Local (`target`, e.g. `http://127.0.0.1:8000`) recording each request. */
export async function startDynamoDBRecorder(target: string): Promise<Recorder> {
  const upstream = new URL(target);
  const recorded: RecordedRequest[] = [];
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const operation = String(request.headers['x-amz-target'] ?? '').replace(/^DynamoDB_\d+\./, '');
      recorded.push({ service: 'dynamodb', operation, path: request.url ?? '/', body: body.toString('utf8'), at: performance.now() });
      const forwarded = httpRequest({
        host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers,
      }, (answer) => {
        response.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(response);
      });
      forwarded.on('error', (error) => response.destroy(error));
      forwarded.end(body);
    }, (error: Error) => response.destroy(error));
  });
  const endpoint = await listen(server);
  return { endpoint, take: () => recorded.splice(0), close: () => close(server) };
}

/** A Management API that accepts every call (200, empty body) and records it. */
export async function startManagementRecorder(): Promise<Recorder> {
  const recorded: RecordedRequest[] = [];
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      recorded.push({
        service: 'management', operation: request.method ?? 'POST', path: decodeURIComponent(request.url ?? '/'), body: body.toString('utf8'), at: performance.now(),
      });
      response.writeHead(200, { 'content-type': 'application/json' }).end();
    }, (error: Error) => response.destroy(error));
  });
  const endpoint = await listen(server);
  return { endpoint, take: () => recorded.splice(0), close: () => close(server) };
}
