/**
 * The realtime console: a page on the local gateway's port (`/_console`) showing live connections,
 * subscriptions with their filter values, every publish with the outcome of each target, and the
 * local fan-out queue; it publishes test events, stops subscriptions, disconnects and reconnects
 * clients through the app's own publisher.
 *
 * Where it looks: the gateway's `onTraffic` (connections, client frames, each `@connections`
 * request and its answer, from any process: a mutation, a publish script, the worker); the store
 * (connection rows and filter values, read for display: `store-reader.ts`); the local queue's
 * `onEvent`. Where it acts: the `publisher()` of the app whose `$default` handler it is given.
 */
import { appDescriptionOf, type AppDescription } from '../../core/app-description';
import type { LocalGatewayOptions } from '../gateway-options';
import { stderrLogger, type LocalLogger } from '../logger';
import type { LocalQueueEvent, LocalQueueOptions } from '../queue';
import { CONSOLE_PATH, createConsoleRoutes } from './http';
import { createQueueTracker, type QueueTracker } from './queue-view';
import { createConsoleState, type ConsoleState } from './state';
import { defaultStoreReader, type ConsoleStoreReader } from './store-reader';

/** Options of {@link createLocalConsole}. */
export interface LocalConsoleOptions {
  /**
   * The app's `$default` handler, as made by `handler()` (a function, so that a reload can swap
   * it): the console finds the routes, their filters, the publisher and the store through it.
   * Without one (e.g. a wrapped handler) the console still shows the traffic but cannot act.
   */
  readonly handler: () => unknown;
  /**
   * Reads connection rows and filter values for display.
   * @default - the memory store's listing; DynamoDB when the environment names the table and a
   * local endpoint (`dev`); else connection rows only (subscriptions from the wire)
   */
  readonly reader?: ConsoleStoreReader;
  /**
   * Host names (without port) the console answers besides loopback ones.
   * @default - loopback only
   */
  readonly hosts?: readonly string[];
  /** @default - warnings and errors to stderr */
  readonly logger?: LocalLogger;
}

/** A console, to plug into a local gateway (and queue). */
export interface LocalConsole {
  /** Spread into `startLocalGateway()`'s options. */
  readonly gatewayOptions: Required<Pick<LocalGatewayOptions, 'onTraffic' | 'onHttpRequest'>>;
  /** Spread into `startLocalQueue()`'s options, to show the fan-out queue. */
  readonly queueOptions: Required<Pick<LocalQueueOptions, 'onEvent'>>;
  /** @internal */
  readonly state: ConsoleState;
  /** The page's URL on a gateway: `http://{host}:{port}/_console`. */
  url(gateway: { readonly url: string }): string;
  /** Reads the connections again (after a reload of the handlers). */
  refresh(): void;
  /** Ends the page's event streams. */
  close(): void;
}

/** Creates a console; plug its `gatewayOptions` into the local gateway. */
export function createLocalConsole(options: LocalConsoleOptions): LocalConsole {
  const logger = options.logger ?? stderrLogger;
  let queue: QueueTracker | undefined;
  let described: { handler: unknown; app: AppDescription | undefined; reader: ConsoleStoreReader | undefined } | undefined;
  /** The description of the current handler (looked up again after a reload swaps it). */
  const current = (): { app: AppDescription | undefined; reader: ConsoleStoreReader | undefined } => {
    const handler = options.handler();
    if (!described || described.handler !== handler) {
      described?.reader?.close?.();
      const app = appDescriptionOf(handler);
      const reader = options.reader ?? (app ? defaultStoreReader(app.store()) : undefined);
      described = { handler, app, reader };
    }
    return described;
  };
  const state = createConsoleState({
    app: () => current().app,
    reader: () => current().reader,
    queue: () => queue?.view(),
    logger,
  });
  const routes = createConsoleRoutes({ state, app: () => current().app, hosts: options.hosts });
  return {
    gatewayOptions: { onTraffic: state.onTraffic, onHttpRequest: routes.handle },
    // Taken when a queue is started: from then on the page shows the queue panel.
    get queueOptions() {
      const tracker = (queue ??= createQueueTracker());
      state.changed();
      return {
        onEvent: (event: LocalQueueEvent) => {
          tracker.onEvent(event);
          state.changed();
        },
      };
    },
    url: (gateway) => `${gateway.url.replace(/^ws/, 'http')}${CONSOLE_PATH}`,
    refresh: () => state.refreshAll(),
    close: () => {
      // Quiet from here on: the gateway closing its connections afterwards is not news, and the
      // reader's client goes once the reads in flight are over.
      state.close();
      routes.close();
      const reader = described?.reader;
      void state.settled().then(() => reader?.close?.());
    },
    state,
  };
}
