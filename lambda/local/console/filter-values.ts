/**
 * Reads a subscription's filter values back from its DynamoDB index keys, for display: the table
 * keeps them only in the sort keys of the filter index rows (`{v1}{v2}...#C#{conn}#S#{id}`), each
 * value encoded by `encodeValue()` in `store/keys.ts` (type tag, escaped body, `;`). A value too
 * long to inline is stored as a digest and comes back as `{ digest }`.
 */
import type { FilterFieldView } from './view';
import type { FilterConfig } from '../../core/filters';
import { filterPartitionKey, type TableKey } from '../../store/keys';
import type { FilterValue } from '../../store/store';

/** A decoded value: the value itself, or the digest a long value was stored as. */
export type DecodedValue = FilterValue | { readonly digest: string };

/**
 * Decodes the first `count` values of an encoded sequence (the start of an index sort key).
 * @throws Error when the text is not such an encoding
 */
export function decodeFilterValues(encoded: string, count: number): DecodedValue[] {
  const values: DecodedValue[] = [];
  let at = 0;
  while (values.length < count) {
    const tag = encoded[at++];
    let body = '';
    for (;;) {
      const char = encoded[at++];
      if (char === undefined) throw new Error(`Not an encoded filter value: ${encoded}`);
      if (char === ';') break;
      if (char !== '\\') {
        body += char;
        continue;
      }
      const escaped = encoded[at++];
      if (escaped === 'u') {
        body += String.fromCharCode(parseInt(encoded.slice(at, at + 4), 16));
        at += 4;
      } else {
        body += escaped;
      }
    }
    values.push(decodeTagged(tag, body, encoded));
  }
  return values;
}

function decodeTagged(tag: string | undefined, body: string, encoded: string): DecodedValue {
  switch (tag) {
    case 's':
      return body;
    case 'n':
      return Number(body);
    case 't':
      return true;
    case 'f':
      return false;
    case 'z':
      return null;
    case 'h':
      return { digest: body };
    default:
      throw new Error(`Not an encoded filter value: ${encoded}`);
  }
}

/**
 * The values of each of the route's filters, from the index keys of one subscription row
 * (`indexKeys`). A filter without a row (declared after the subscription started) is left out.
 */
export function filtersFromIndexKeys(
  path: string, filters: readonly FilterConfig[], indexKeys: readonly TableKey[],
): Array<{ name: string; values: FilterFieldView[] }> {
  const found: Array<{ name: string; values: FilterFieldView[] }> = [];
  for (const filter of filters) {
    const partition = `${filterPartitionKey(path, filter.name)}#`;
    const key = indexKeys.find((candidate) => candidate.pk.startsWith(partition) && /^\d+$/.test(candidate.pk.slice(partition.length)));
    if (!key) continue;
    const fields = [...filter.ctx.map((field) => ({ group: 'ctx' as const, field })), ...filter.input.map((field) => ({ group: 'input' as const, field }))];
    try {
      const values = decodeFilterValues(key.sk, fields.length);
      found.push({ name: filter.name, values: fields.map((field, index) => ({ ...field, value: values[index] })) });
    } catch {
      // A row this version cannot read: show the filter without values rather than fail the view.
      found.push({ name: filter.name, values: [] });
    }
  }
  return found;
}

/** The values of each filter from a stored subscription's filter entries (the memory store keeps them). */
export function filtersFromEntries(
  filters: readonly FilterConfig[], entries: ReadonlyArray<{ readonly name: string; readonly values: readonly FilterValue[] }>,
): Array<{ name: string; values: FilterFieldView[] }> {
  return entries.map((entry) => {
    const filter = filters.find((candidate) => candidate.name === entry.name);
    const fields = filter
      ? [...filter.ctx.map((field) => ({ group: 'ctx' as const, field })), ...filter.input.map((field) => ({ group: 'input' as const, field }))]
      : entry.values.map((_, index) => ({ group: 'input' as const, field: `#${index + 1}` }));
    return { name: entry.name, values: fields.map((field, index) => ({ ...field, value: entry.values[index] ?? null })) };
  });
}
