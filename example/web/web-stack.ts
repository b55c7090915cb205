/**
 * `npm run demo -- --web`: the web example on the local stack. DynamoDB Local (or the memory
 * store), the local API Gateway emulator with the chat's handlers, and an HTTP server on loopback
 * serving the page. Uses only the package's public entry points (`/lambda`, `/local`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { chatApp, type ChatPublisher } from './chat-router';
import { bundlePage } from './page-bundle';
import { dynamodb, memory, type SubscriptionStore, type WebSocketHandler } from '../../lambda';
import {
  createLocalConsole,
  createSubscriptionTable,
  dynamodbStoreReader,
  LOCAL_AWS_SETTINGS,
  startDynamoDBLocal,
  startLocalGateway,
  type DynamoDBLocal,
  type LocalGateway,
  type LocalGatewayOptions,
} from '../../lambda/local';

/** Options of {@link startWebExample}. */
export interface WebExampleOptions {
  /**
   * `dynamodb`: start DynamoDB Local (needs Java 17) and create a table; `memory`: the in-memory
   * store; or a store of your own (e.g. `dynamodb()` on a table you created).
   * @default 'dynamodb'
   */
  readonly store?: 'dynamodb' | 'memory' | SubscriptionStore;
  /**
   * Port of the page's HTTP server (loopback only).
   * @default - a free port
   */
  readonly port?: number;
  /**
   * Passed to the local gateway (e.g. an authorizer that refuses connections, or management API
   * faults, in tests).
   * @default - none
   */
  readonly gateway?: Pick<LocalGatewayOptions, 'authorizer' | 'faults' | 'logger'>;
  /**
   * Told how long DynamoDB Local has been starting, every 5 s while it does.
   * @default - nothing is reported
   */
  readonly onDynamoDBProgress?: (elapsedMs: number) => void;
}

/** The running web example. */
export interface WebExample {
  /** The page: open `${url}?user=alice&room=lobby`. */
  readonly url: string;
  /** The local API Gateway emulator (its `url` is the page's WebSocket URL). */
  readonly gateway: LocalGateway;
  /** The realtime console of the local stack (`/_console` on the gateway's port). */
  readonly consoleUrl: string;
  /** A publisher for code outside the handlers (a script, a producer), on the same store. */
  readonly publisher: ChatPublisher;
  /** Stops the HTTP server, the gateway (firing `$disconnect`) and DynamoDB Local. */
  close(): Promise<void>;
}

const TABLE_NAME = 'trpc-subscriptions-web-example';

/** Starts the web example; everything it started is stopped again when it fails to start. */
export async function startWebExample(options: WebExampleOptions = {}): Promise<WebExample> {
  const cleanups: Array<() => unknown> = [];
  /** Runs every cleanup (newest first), even when one fails; rethrows the first failure. */
  const close = async () => {
    const failures: unknown[] = [];
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failures.push(error);
      }
    }
    cleanups.length = 0;
    if (failures.length > 0) throw failures[0];
  };
  try {
    const page = await bundlePage();
    let dynamodbLocal: DynamoDBLocal | undefined;
    let store: SubscriptionStore;
    const kind = options.store ?? 'dynamodb';
    if (kind === 'dynamodb') {
      // watchParent: no Java left behind when this process dies, and a Ctrl+C in the terminal
      // reaches only this process, which closes the connections before it stops DynamoDB Local.
      dynamodbLocal = await startDynamoDBLocal({ fastStart: true, watchParent: true, onProgress: options.onDynamoDBProgress });
      cleanups.push(() => dynamodbLocal!.stop());
      await createSubscriptionTable({ client: dynamodbLocal.client, tableName: TABLE_NAME });
      store = dynamodb({ tableName: TABLE_NAME, dynamoDBClient: dynamodbLocal.client });
    } else {
      store = kind === 'memory' ? memory() : kind;
    }

    // The management client needs the gateway's endpoint, known once the gateway listens.
    const managementClient = (endpoint: string) => new ApiGatewayManagementApiClient({ endpoint, ...LOCAL_AWS_SETTINGS });
    let messageHandler: WebSocketHandler | undefined;
    const devConsole = createLocalConsole({
      handler: () => messageHandler,
      ...(dynamodbLocal ? { reader: dynamodbStoreReader(store, { client: dynamodbLocal.client, tableName: TABLE_NAME }) } : {}),
      ...(options.gateway?.logger ? { logger: options.gateway.logger } : {}),
    });
    const gateway = await startLocalGateway({
      ...devConsole.gatewayOptions,
      ...options.gateway,
      handlers: {
        connect: chatApp.connect({ store }),
        handler: (event, context) => messageHandler!(event, context),
        disconnect: chatApp.disconnect({ store }),
      },
    });
    cleanups.push(() => gateway.close());
    cleanups.push(() => devConsole.close());
    messageHandler = chatApp.handler({ store, endpoint: gateway.endpoint, managementClient });
    const publisher = chatApp.publisher({ store, endpoint: gateway.endpoint, managementClient });

    const server = createServer((request, response) => {
      const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (pathname === '/app.js') {
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(page.script);
      } else if (pathname === '/favicon.ico') {
        // The page declares an inline icon; this answers browsers that ask anyway, without a 404.
        response.writeHead(204).end();
      } else if (pathname === '/') {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page.html(gateway.url));
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      }
    });
    await listen(server, options.port ?? 0);
    cleanups.push(() => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/`, gateway, consoleUrl: devConsole.url(gateway), publisher, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
