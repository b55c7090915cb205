import type { TableKey } from './keys';
import type { RequestId } from './store';

/** Subscriptions remembered at most (least recently stored forgotten first). */
const MAX_ENTRIES = 1000;
/** A subscription whose index keys take more bytes than this is not remembered (a stop reads them). */
const MAX_KEY_BYTES = 4096;

/**
 * The index keys of the subscriptions this store instance stored, so that a stop handled by the
 * same warm instance deletes them in one request instead of reading the subscription row first
 * (docs/table-design.md, "Access patterns"). An entry is a hint, never trusted alone: the delete
 * is conditioned on the row still listing exactly these keys, and falls back to reading the row.
 * Bounded in entries and in the key bytes of each, so memory stays within a few MB.
 */
export class RecentSubscriptions {
  private readonly entries = new Map<string, readonly TableKey[]>();

  /** Remembers the index keys of a subscription just stored. */
  remember(connectionId: string, subscriptionId: RequestId, keys: readonly TableKey[]): void {
    let bytes = 0;
    for (const key of keys) bytes += key.pk.length + key.sk.length;
    if (bytes > MAX_KEY_BYTES) return;
    const id = entryId(connectionId, subscriptionId);
    this.entries.delete(id);
    this.entries.set(id, keys);
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** The index keys of a subscription, forgotten as they are returned (a stop happens once). */
  take(connectionId: string, subscriptionId: RequestId): readonly TableKey[] | undefined {
    const id = entryId(connectionId, subscriptionId);
    const keys = this.entries.get(id);
    this.entries.delete(id);
    return keys;
  }
}

/** `1` and `"1"` are different subscriptions. */
function entryId(connectionId: string, subscriptionId: RequestId): string {
  return `${typeof subscriptionId === 'number' ? 'n' : 's'}${subscriptionId}\u0000${connectionId}`;
}
