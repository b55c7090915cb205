/** The page's requests to the console server. */
import type { ActionResponse, ConnectionsRequest, PublishRequest, StopRequest } from '../view';

/** What each action takes. */
export interface ActionBodies {
  readonly publish: PublishRequest;
  readonly enqueue: PublishRequest;
  readonly stop: StopRequest;
  readonly disconnect: ConnectionsRequest;
  readonly reconnect: ConnectionsRequest;
}

/** Posts an action; a failed request comes back as `{ ok: false, error }` too. */
export async function act<A extends keyof ActionBodies>(action: A, body: ActionBodies[A]): Promise<ActionResponse> {
  try {
    const response = await fetch(`/_console/api/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await response.json()) as ActionResponse;
  } catch (error) {
    return { ok: false, error: `The console server did not answer: ${error instanceof Error ? error.message : String(error)}` };
  }
}
