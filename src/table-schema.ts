import { Stack } from 'aws-cdk-lib';
import { CfnGlobalTable, CfnTable, type ITable } from 'aws-cdk-lib/aws-dynamodb';

/** One key attribute of a table: its name and DynamoDB type (`S`, `N` or `B`). */
export interface KeyAttribute {
  readonly name: string;
  readonly type: string;
}

/** The key schema and TTL attribute of a table defined in this app. */
export interface TableSchema {
  readonly partitionKey?: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** The TTL attribute when TTL is enabled. */
  readonly ttlAttribute?: string;
}

interface RawKey { readonly attributeName: string; readonly keyType: string }
interface RawAttribute { readonly attributeName: string; readonly attributeType: string }
interface RawTtl { readonly attributeName?: string; readonly enabled: unknown }

/**
 * Reads the key schema of a `TableV2` or `Table` defined in this app from its CloudFormation
 * resource. Returns `undefined` when it cannot be known at synth time: an imported table or
 * a schema built from unresolved tokens.
 */
export function readTableSchema(table: ITable): TableSchema | undefined {
  const cfn = table.node.defaultChild;
  if (!(cfn instanceof CfnGlobalTable) && !(cfn instanceof CfnTable)) {
    return undefined;
  }
  // Resolving runs the lazy values TableV2 uses; tokens become CloudFormation intrinsics.
  const stack = Stack.of(table);
  const keys = plainItems<RawKey>(stack.resolve(cfn.keySchema), 'attributeName', 'keyType');
  const attributes = plainItems<RawAttribute>(stack.resolve(cfn.attributeDefinitions), 'attributeName', 'attributeType');
  if (keys === undefined || attributes === undefined) {
    return undefined;
  }
  const keyAttribute = (keyType: string): KeyAttribute | undefined => {
    const key = keys.find((k) => k.keyType === keyType);
    if (key === undefined) {
      return undefined;
    }
    const attribute = attributes.find((a) => a.attributeName === key.attributeName);
    return { name: key.attributeName, type: attribute?.attributeType ?? '?' };
  };
  const ttl = stack.resolve(cfn.timeToLiveSpecification) as RawTtl | undefined;
  const ttlEnabled = ttl?.enabled === true && typeof ttl.attributeName === 'string';
  return {
    partitionKey: keyAttribute('HASH'),
    sortKey: keyAttribute('RANGE'),
    ttlAttribute: ttlEnabled ? ttl.attributeName : undefined,
  };
}

/** The items of a resolved array when each has the given string fields, else `undefined`. */
function plainItems<T>(value: unknown, ...fields: string[]): readonly T[] | undefined {
  if (!Array.isArray(value)) {
    return undefined;
  }
  const plain = value.every((item) => item !== null && typeof item === 'object'
    && fields.every((field) => typeof (item as Record<string, unknown>)[field] === 'string'));
  return plain ? (value as T[]) : undefined;
}
