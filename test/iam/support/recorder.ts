/**
 * Records every AWS request the runtime sends in the IAM scenarios, keyed by the code path that
 * sent it (the handlers, a publisher, a server-side control, the fan-out worker...): clients with a
 * middleware that keeps the command, its input, the HTTP request (for the Management API and SQS:
 * method and URL) and the runtime's call sites on the stack. Anything sent through these clients
 * is recorded, including requests added to the runtime later.
 */
import * as path from 'path';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ManagementClientFactory } from '../../../lambda';
import { LOCAL_AWS_SETTINGS } from '../../../lambda/local';
import { managementRetryStrategy } from '../../../lambda/management/client';
import { DEFAULT_RETRY } from '../../../lambda/management/options';

/** The services the runtime calls. */
export type AwsService = 'dynamodb' | 'execute-api' | 'sqs';

/** One request as the runtime sent it. */
export interface RecordedRequest {
  /** Whose code sent it, e.g. `handler`, `publisher`, `control`, `worker`. */
  readonly codePath: string;
  readonly service: AwsService;
  /** The API operation, e.g. `TransactWriteItems`, `PostToConnection`, `SendMessageBatch`. */
  readonly operation: string;
  /** The command's input (a copy). */
  readonly input: Record<string, any>;
  /** The HTTP request (Management API and SQS). */
  readonly http?: { readonly method: string; readonly url: string };
  /** `lambda/...:line` of every runtime frame on the stack when it was sent. */
  readonly sites: readonly string[];
}

const ROOT = path.resolve(__dirname, '..', '..', '..');
const RUNTIME = `${path.join(ROOT, 'lambda')}${path.sep}`;
const NOT_DEPLOYED = `${path.join(ROOT, 'lambda', 'local')}${path.sep}`;
const FRAME = /\(?([^\s()]+\.ts):(\d+):\d+\)?$/;
const STACK = Symbol('iamRecorderStack');

/**
 * The runtime's frames of the current stack (`lambda/...:line`, the local emulator left out).
 * Taken while the SDK's first middlewares still run synchronously inside `client.send`.
 */
function runtimeSites(): string[] {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const sites: string[] = [];
  for (const line of stack.split('\n')) {
    const match = FRAME.exec(line.trim());
    if (!match) continue;
    const file = path.resolve(match[1]);
    if (!file.startsWith(RUNTIME) || file.startsWith(NOT_DEPLOYED)) continue;
    sites.push(`${path.relative(ROOT, file).split(path.sep).join('/')}:${match[2]}`);
  }
  return sites;
}

type AnyClient = DynamoDBClient | ApiGatewayManagementApiClient | SQSClient;

/** Keeps what every client it makes sends. */
export class RequestRecorder {
  readonly requests: RecordedRequest[] = [];
  private readonly clients: AnyClient[] = [];

  /** A DynamoDB client for the run's DynamoDB Local whose requests count as `codePath`'s. */
  dynamodb(codePath: string, endpoint = process.env.DYNAMODB_ENDPOINT): DynamoDBClient {
    if (!endpoint) throw new Error('DYNAMODB_ENDPOINT is not set: is test/setup/global-setup.ts configured?');
    return this.track(new DynamoDBClient({ endpoint, ...LOCAL_AWS_SETTINGS }), codePath, 'dynamodb');
  }

  /**
   * A Management API client factory whose requests count as `codePath`'s: the runtime's retry
   * strategy, one client per endpoint.
   */
  management(codePath: string): ManagementClientFactory {
    const clients = new Map<string, ApiGatewayManagementApiClient>();
    return (endpoint) => {
      let client = clients.get(endpoint);
      if (!client) {
        client = this.track(
          new ApiGatewayManagementApiClient({ endpoint, ...LOCAL_AWS_SETTINGS, retryStrategy: managementRetryStrategy(DEFAULT_RETRY) }),
          codePath,
          'execute-api',
        );
        clients.set(endpoint, client);
      }
      return client;
    };
  }

  /** An SQS client for a local queue's endpoint whose requests count as `codePath`'s. */
  sqs(codePath: string, endpoint: string): SQSClient {
    return this.track(new SQSClient({ endpoint, ...LOCAL_AWS_SETTINGS }), codePath, 'sqs');
  }

  /** The requests of one code path. */
  of(codePath: string): RecordedRequest[] {
    return this.requests.filter((request) => request.codePath === codePath);
  }

  destroy(): void {
    for (const client of this.clients.splice(0)) client.destroy();
  }

  private track<T extends AnyClient>(client: T, codePath: string, service: AwsService): T {
    this.clients.push(client);
    const stack = client.middlewareStack as DynamoDBClient['middlewareStack'];
    // Once per send (not per retry), before anything asynchronous: the runtime's frames are
    // still on the stack here.
    stack.add((next, context) => async (args) => {
      (context as Record<symbol, unknown>)[STACK] = runtimeSites();
      return next(args);
    }, { step: 'initialize', priority: 'high', name: 'iamRecorderSites' });
    // After serialization, so the HTTP request (method, resolved endpoint, path) is known.
    stack.add((next, context) => async (args) => {
      const request = args.request as { method?: string; protocol?: string; hostname?: string; port?: number; path?: string } | undefined;
      this.requests.push({
        codePath,
        service,
        operation: String(context.commandName).replace(/Command$/, ''),
        input: structuredClone(args.input as Record<string, any>),
        ...(service === 'dynamodb' || !request ? {} : {
          http: {
            method: request.method ?? '',
            url: `${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ''}${request.path}`,
          },
        }),
        sites: ((context as Record<symbol, unknown>)[STACK] as string[] | undefined) ?? [],
      });
      return next(args);
    }, { step: 'build', priority: 'low', name: 'iamRecorderRequest' });
    return client;
  }
}
