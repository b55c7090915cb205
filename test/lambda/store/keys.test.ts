import * as fc from 'fast-check';
import {
  connectionKey,
  encodeFilterValues,
  encodeValue,
  escapeKeyPart,
  filterIndexKey,
  filterPartitionKey,
  indexKeys,
  keyPart,
  MAX_GUARANTEED_FILTER_FIELDS,
  MAX_INLINE_SORT_KEY_PART_BYTES,
  MAX_PARTITION_KEY_BYTES,
  MAX_SORT_KEY_BYTES,
  subscriberQueryKey,
  subscriberQueryKeys,
  shardOf,
  INDEX_SHARDS,
  subscriptionKey,
  unfilteredIndexKey,
  unfilteredPartitionKey,
  utf8Length,
} from '../../../lambda/store/keys';
import type { FilterValue } from '../../../lambda/store/store';

/** Values chosen to collide if the encoding were naive. */
const TRICKY: FilterValue[] = [
  'u1', 'u10', '', '#', ';', '\\', '\\;', 'h', 's', 'a#', '#C#', 'x;sy;', '1', '10', 1, 10, 0, -1, 1.5,
  true, false, 'true', 'false', null, 'null', 'z;', '\ud800', '\udc00', '\ud83d\udc4d', 'é', 'e\u0301', '日本',
  'x'.repeat(100), 'x'.repeat(101), `${'x'.repeat(100)};`,
];

const trickyString = fc.string({ unit: fc.constantFrom('u', '1', '0', '#', ';', '\\', 'h', 's', '\ud800', '\udc00', 'é'), maxLength: 80 });
const filterValue: fc.Arbitrary<FilterValue> = fc.oneof(
  fc.constantFrom(...TRICKY),
  trickyString,
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const tuple = fc.array(filterValue, { maxLength: 5 });

function sameValue(a: FilterValue, b: FilterValue): boolean {
  return typeof a === typeof b && (a === b || (Number.isNaN(a) && Number.isNaN(b)));
}

function isElementWisePrefix(a: readonly FilterValue[], b: readonly FilterValue[]): boolean {
  return a.length <= b.length && a.every((value, i) => sameValue(value, b[i]));
}

/** DynamoDB's begins_with compares UTF-8 bytes. */
function bytePrefix(prefix: string, value: string): boolean {
  const p = Buffer.from(prefix, 'utf8');
  const v = Buffer.from(value, 'utf8');
  return p.length <= v.length && v.subarray(0, p.length).equals(p);
}

describe('filter value encoding', () => {
  test('the encoding of a tuple is a prefix of another exactly when the tuple is an element-wise prefix', () => {
    fc.assert(
      fc.property(tuple, tuple, tuple, trickyString, trickyString, (a, b, tail, s, t) => {
        // Related tuples make the interesting cases likely: a string value extended by a suffix
        // (u1 / u10) must not match.
        const pairs = [[a, b], [a, [...a, ...tail]], [[...a, ...tail], a], [[...a, s], [...a, s + t, ...tail]]];
        for (const [x, y] of pairs) {
          const expected = isElementWisePrefix(x, y);
          expect(encodeFilterValues(y).startsWith(encodeFilterValues(x))).toBe(expected);
          expect(bytePrefix(encodeFilterValues(x), encodeFilterValues(y))).toBe(expected);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('two values encode alike exactly when they are the same value of the same type', () => {
    fc.assert(
      fc.property(filterValue, filterValue, (a, b) => {
        expect(encodeValue(a) === encodeValue(b)).toBe(sameValue(a, b));
      }),
      { numRuns: 2000 },
    );
    for (const a of TRICKY) {
      for (const b of TRICKY) expect(encodeValue(a) === encodeValue(b)).toBe(sameValue(a, b));
    }
  });

  test.each([
    ['u1', 'u10'],
    ['1', 1],
    [true, 'true'],
    [null, 'null'],
    [null, ''],
    ['', 'u1'],
    ['a', 'a#'],
  ] as [FilterValue, FilterValue][])('%j never prefix-matches %j (or the other way round)', (a, b) => {
    expect(encodeValue(b).startsWith(encodeValue(a))).toBe(false);
    expect(encodeValue(a).startsWith(encodeValue(b))).toBe(false);
  });

  test('encodes readable tagged, escaped and terminated values', () => {
    expect(encodeFilterValues(['u1', 10, true, false, null, 'a#b;c\\'])).toBe('su1;n10;t;f;z;sa\\#b\\;c\\\\;');
    expect(encodeValue(-0)).toBe(encodeValue(0));
    expect(encodeValue(undefined as unknown as FilterValue)).toBe(encodeValue(null));
  });

  test('escapes lone surrogates, which UTF-8 would turn into one replacement character', () => {
    expect(encodeValue('\ud800')).toBe('s\\uD800;');
    expect(encodeValue('\ud800')).not.toBe(encodeValue('\udbff'));
    expect(encodeValue('\ufffd')).not.toBe(encodeValue('\ud800'));
    expect(escapeKeyPart('\ud83d\udc4d')).toBe('\ud83d\udc4d');
  });

  test('replaces long values by a tagged digest that keeps exact matching and the byte budget', () => {
    const long = 'x'.repeat(5000);
    const encoded = encodeValue(long);
    expect(encoded).toMatch(/^h[A-Za-z0-9_-]{43};$/);
    expect(encodeValue('x'.repeat(5000))).toBe(encoded);
    expect(encodeValue(`${long}y`)).not.toBe(encoded);
    // The threshold is on the encoded bytes, so multi-byte and escaped values are measured right.
    expect(utf8Length(encodeValue('日'.repeat(100)))).toBeLessThanOrEqual(MAX_INLINE_SORT_KEY_PART_BYTES);
    expect(utf8Length(encodeValue('#'.repeat(40)))).toBeLessThanOrEqual(MAX_INLINE_SORT_KEY_PART_BYTES);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (value) => {
        expect(utf8Length(encodeValue(value))).toBeLessThanOrEqual(MAX_INLINE_SORT_KEY_PART_BYTES);
      }),
    );
  });

  test('rejects objects and other non-scalar values with a clear error', () => {
    expect(() => encodeValue({} as unknown as FilterValue)).toThrow(/string, number, boolean or null, got: an object/);
    expect(() => encodeValue(1n as unknown as FilterValue)).toThrow(/got: bigint/);
  });
});

describe('table keys', () => {
  test('match the documented examples', () => {
    expect(connectionKey('L0SM9cOFvHcCIhw=')).toEqual({ pk: 'CONN#L0SM9cOFvHcCIhw=', sk: 'CONN' });
    expect(subscriptionKey('L0SM9cOFvHcCIhw=', 1)).toEqual({ pk: 'CONN#L0SM9cOFvHcCIhw=', sk: 'SUB#n1;' });
    expect(subscriptionKey('L0SM9cOFvHcCIhw=', '1').sk).toBe('SUB#s1;');
    expect(unfilteredIndexKey('onMessage', 'L0SM9cOFvHcCIhw=', 1)).toEqual({
      pk: 'ROUTE#onMessage#ALL#5',
      sk: 'C#L0SM9cOFvHcCIhw=#S#n1;',
    });
    expect(filterIndexKey('onMessage', { name: 'byUserAndRoom', values: ['u1', 'a'] }, 'L0SM9cOFvHcCIhw=', 1)).toEqual({
      pk: 'ROUTE#onMessage#F#byUserAndRoom#0',
      sk: 'su1;sa;#C#L0SM9cOFvHcCIhw=#S#n1;',
    });
  });

  test('a publish reads every shard of the unfiltered partition, or the one shard of the first filter value', () => {
    expect(subscriberQueryKeys({ path: 'chat.onTyping' })).toEqual(Array.from({ length: INDEX_SHARDS }, (_, shard) => ({ pk: `ROUTE#chat.onTyping#ALL#${shard}` })));
    expect(subscriberQueryKeys({ path: 'onMessage', filter: { name: 'byUserAndRoom', values: ['u1'] } })).toEqual([{
      pk: `ROUTE#onMessage#F#byUserAndRoom#${shardOf('su1;')}`,
      skPrefix: 'su1;',
    }]);
    // The shard of a prefix publish is the shard its subscriptions were written to.
    const written = filterIndexKey('onMessage', { name: 'byUserAndRoom', values: ['u1', 'a'] }, 'c', 1);
    expect(subscriberQueryKeys({ path: 'onMessage', filter: { name: 'byUserAndRoom', values: ['u1'] } })[0].pk).toBe(written.pk);
    expect(subscriberQueryKeys({ path: 'onMessage', filter: { name: 'byRoom', values: [] } })).toHaveLength(INDEX_SHARDS);
  });

  test('shards spread connections and values evenly', () => {
    const counts = new Array<number>(INDEX_SHARDS).fill(0);
    for (let i = 0; i < 8000; i++) counts[shardOf(`conn-${i}`)]++;
    for (const count of counts) expect(count).toBeGreaterThan(800);
    for (const count of counts) expect(count).toBeLessThan(1200);
    expect(unfilteredIndexKey('p', 'conn-1', 1).pk).toBe(`ROUTE#p#ALL#${shardOf('conn-1')}`);
  });

  test('the unsharded keys of older versions (read with unshardedIndexReads)', () => {
    expect(subscriberQueryKey({ path: 'chat.onTyping' })).toEqual({ pk: 'ROUTE#chat.onTyping#ALL' });
    expect(subscriberQueryKey({ path: 'onMessage', filter: { name: 'byUserAndRoom', values: ['u1'] } })).toEqual({
      pk: 'ROUTE#onMessage#F#byUserAndRoom',
      skPrefix: 'su1;',
    });
    expect(subscriberQueryKey({ path: 'onMessage', filter: { name: 'byRoom', values: [] } })).toEqual({
      pk: 'ROUTE#onMessage#F#byRoom',
    });
  });

  test('paths and filter names cannot forge each other or the ALL partition', () => {
    expect(filterPartitionKey('a#F#b', 'c')).not.toBe(filterPartitionKey('a', 'b#F#c'));
    expect(filterPartitionKey('a', 'ALL')).not.toBe(unfilteredPartitionKey('a#F'));
    expect(unfilteredPartitionKey('a#F#x')).not.toBe(filterPartitionKey('a', 'x#ALL'));
    fc.assert(
      fc.property(trickyString, trickyString, trickyString, trickyString, (p1, f1, p2, f2) => {
        expect(filterPartitionKey(p1, f1) === filterPartitionKey(p2, f2)).toBe(p1 === p2 && f1 === f2);
        expect(unfilteredPartitionKey(p1) === filterPartitionKey(p2, f2)).toBe(false);
      }),
    );
  });

  test('key parts are injective and digest only what is too long', () => {
    fc.assert(
      fc.property(fc.oneof(trickyString, fc.string({ maxLength: 300 })), fc.oneof(trickyString, fc.string({ maxLength: 300 })), (a, b) => {
        expect(keyPart(a, 64) === keyPart(b, 64)).toBe(a === b);
      }),
    );
    expect(keyPart('x'.repeat(64), 64)).toBe('x'.repeat(64));
    expect(keyPart('x'.repeat(65), 64)).toMatch(/^\\h[A-Za-z0-9_-]{43}$/);
  });

  test('index keys of different subscriptions never collide, and connection ids cannot forge the suffix', () => {
    const filter = { name: 'f', values: ['v'] };
    const keys = [
      filterIndexKey('p', filter, 'a#S#n1;', 2),
      filterIndexKey('p', filter, 'a', 1),
      filterIndexKey('p', filter, 'a', '1'),
      filterIndexKey('p', filter, 'a#S#n1', 2),
    ];
    expect(new Set(keys.map((key) => key.sk)).size).toBe(keys.length);
  });

  test(`filters with up to ${MAX_GUARANTEED_FILTER_FIELDS} fields always fit, whatever the value and id lengths`, () => {
    const long = 'é'.repeat(3000);
    const key = filterIndexKey('p'.repeat(5000), { name: 'f'.repeat(5000), values: Array(MAX_GUARANTEED_FILTER_FIELDS).fill(long) }, long, long);
    expect(utf8Length(key.sk)).toBeLessThanOrEqual(MAX_SORT_KEY_BYTES);
    expect(utf8Length(key.pk)).toBeLessThanOrEqual(MAX_PARTITION_KEY_BYTES);
    expect(utf8Length(connectionKey(long).pk)).toBeLessThanOrEqual(MAX_PARTITION_KEY_BYTES);
    expect(utf8Length(subscriptionKey(long, long).sk)).toBeLessThanOrEqual(MAX_SORT_KEY_BYTES);
    // Many short values fit too: only the actual size counts.
    expect(() => filterIndexKey('p', { name: 'f', values: Array(50).fill('u1') }, 'c', 1)).not.toThrow();
  });

  test('a filter whose encoded values cannot fit a sort key fails with a clear error', () => {
    const values = Array(30).fill('x'.repeat(500));
    expect(() => indexKeys('onMessage', [{ name: 'huge', values }], 'c', 1)).toThrow(
      /Filter 'huge' of 'onMessage' has too many long values for a DynamoDB sort key \(30 fields, \d+ bytes encoded, limit 1024\)/,
    );
  });

  test('a subscription owns one unfiltered index key plus one per filter', () => {
    const keys = indexKeys('onMessage', [{ name: 'byRoom', values: ['a'] }, { name: 'byUser', values: ['u1'] }], 'c', 4);
    expect(keys.map((key) => key.pk)).toEqual(['ROUTE#onMessage#ALL#3', 'ROUTE#onMessage#F#byRoom#0', 'ROUTE#onMessage#F#byUser#0']);
  });
});
