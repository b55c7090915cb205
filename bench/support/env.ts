import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '../../lambda';
import { LOCAL_AWS_SETTINGS, startDynamoDBLocal, type DynamoDBLocal } from '../../lambda/local';

/** What every section gets. */
export interface BenchEnv {
  readonly quick: boolean;
  readonly dynamodb: DynamoDBLocal;
  /** A logger for the handlers that records errors: the run fails when any was logged. */
  readonly logger: Logger;
  /** Errors the handlers logged. */
  readonly errors: string[];
  /** Progress lines (stderr). */
  progress(message: string): void;
  /** A new DynamoDB client on DynamoDB Local (destroyed at the end of the run). */
  client(): DynamoDBClient;
  /** Registers cleanup, run in reverse order at the end (also on failure). */
  defer(cleanup: () => Promise<void> | void): void;
}

/** Creates the environment: DynamoDB Local on loopback and the cleanup stack. */
export async function createEnv(quick: boolean, progress: (message: string) => void): Promise<BenchEnv & { dispose(): Promise<void> }> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const errors: string[] = [];
  const dynamodb = await startDynamoDBLocal();
  cleanups.push(() => dynamodb.stop());
  const record = (level: string) => (message: string, details?: Record<string, unknown>) => {
    if (level === 'error') errors.push(`${message} ${JSON.stringify(details, (_k, v: unknown) => (v instanceof Error ? v.message : v))}`);
  };
  return {
    quick,
    dynamodb,
    progress,
    errors,
    logger: { error: record('error'), warn: record('warn') },
    client: () => {
      const client = new DynamoDBClient({ endpoint: dynamodb.endpoint, ...LOCAL_AWS_SETTINGS });
      cleanups.push(() => client.destroy());
      return client;
    },
    defer: (cleanup) => cleanups.push(cleanup),
    dispose: async () => {
      for (const cleanup of cleanups.splice(0).reverse()) {
        try {
          await cleanup();
        } catch (error) {
          progress(`cleanup failed: ${String(error)}`);
        }
      }
    },
  };
}

/** Runs `worker(i)` for i in [0, count) with at most `concurrency` at once. */
export async function runBounded(count: number, concurrency: number, worker: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await worker(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}
