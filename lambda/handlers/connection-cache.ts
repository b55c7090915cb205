import type { ConnectionRecord } from '../store/store';

/**
 * Connection rows a warm Lambda instance has already read, so that the requests of a connection
 * cost one store round trip (the subscribe transaction) instead of two.
 *
 * Only settled rows are kept (`awaitingConnectionParams` false): from then on the record never
 * changes until it is deleted (the row's subscription count does, but it is not part of it).
 * A stale entry of a deleted connection is harmless: the subscribe transaction's conditional
 * update of the connection row refuses it ('connection-gone'), and
 * queries or mutations of a connection that API Gateway still routes are legitimate.
 * Least recently used entries are evicted beyond `maxEntries`; expired rows are never returned.
 */
export class ConnectionCache {
  private readonly entries = new Map<string, ConnectionRecord>();

  /** @param maxEntries rows kept at most; 0 disables the cache */
  constructor(private readonly maxEntries: number, private readonly now: () => number = Date.now) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) {
      throw new Error(`\`connectionCacheSize\` must be a non-negative integer, got: ${maxEntries}`);
    }
  }

  /** The cached row of a connection, if it is settled and not expired. */
  get(connectionId: string): ConnectionRecord | undefined {
    const record = this.entries.get(connectionId);
    if (!record) return undefined;
    this.entries.delete(connectionId);
    if (record.expireAt * 1000 <= this.now()) return undefined;
    this.entries.set(connectionId, record); // most recently used last
    return record;
  }

  /** Keeps a row once its connectionParams are settled. */
  remember(record: ConnectionRecord): void {
    if (this.maxEntries === 0 || record.awaitingConnectionParams) return;
    this.entries.delete(record.connectionId);
    this.entries.set(record.connectionId, record);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Number of cached rows. */
  get size(): number {
    return this.entries.size;
  }
}
