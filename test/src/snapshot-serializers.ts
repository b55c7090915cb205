/**
 * Jest snapshot serializer that replaces asset hashes (64 hex digits: S3 keys, asset paths,
 * bundle hashes) so that a snapshot alarms on template drift, not on changed bundle bytes.
 */
const ASSET_HASH = /[0-9a-f]{64}/g;

export const assetHashSerializer: jest.SnapshotSerializerPlugin = {
  test: (value: unknown) => typeof value === 'string' && new RegExp(ASSET_HASH.source).test(value),
  serialize: (value: string) => JSON.stringify(value.replace(ASSET_HASH, '[ASSET HASH]')),
};
