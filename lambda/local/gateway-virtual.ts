/** The local gateway's virtual connections: ids the management API serves without a socket. */
import type { VirtualConnections } from './gateway-options';
import { apiGatewayStyleId } from './ids';
import type { ManagedConnection } from './management-api';

/** The virtual connections of one gateway: the public API and the lookup the management API uses. */
export function createVirtualConnections(): { readonly api: VirtualConnections; find(id: string): ManagedConnection | undefined } {
  const frames = new Map<string, string[]>();
  const managed = new Map<string, ManagedConnection>();
  let total = 0;
  const api: VirtualConnections = {
    add(count) {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = `virtual-${apiGatewayStyleId()}`;
        const received: string[] = [];
        const connectedAt = Date.now();
        frames.set(id, received);
        managed.set(id, {
          connectedAt,
          lastActiveAt: connectedAt,
          sourceIp: '127.0.0.1',
          userAgent: 'virtual',
          send: async (data) => {
            received.push(data.toString('utf8'));
            total++;
          },
          delete: () => api.remove(id),
        });
        ids.push(id);
      }
      return ids;
    },
    received: (id) => frames.get(id) ?? [],
    totalReceived: () => total,
    remove(id) {
      managed.delete(id);
    },
  };
  return { api, find: (id) => managed.get(id) };
}
