import * as fc from 'fast-check';
import { decodeFilterValues, filtersFromEntries, filtersFromIndexKeys } from '../../../../lambda/local/console/filter-values';
import { encodeFilterValues, encodeValue, indexKeys } from '../../../../lambda/store/keys';
import type { FilterValue } from '../../../../lambda/store/store';

const filterValue: fc.Arbitrary<FilterValue> = fc.oneof(
  fc.constantFrom<FilterValue>('', '#', ';', '\\', '\\;', '\\u', 'u1', '#C#', '\ud800', '\udc00', '\ud83d\udc4d', '日本', 'x'.repeat(100), 1, -0, 1.5, 1e21, true, false, null),
  fc.string({ unit: fc.constantFrom('a', '#', ';', '\\', 'u', '\ud800', '\udc00', 'é'), maxLength: 70 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);

describe('reading filter values back from index sort keys', () => {
  test('every value comes back as written, except values stored as a digest, which come back as their digest', () => {
    fc.assert(
      fc.property(fc.array(filterValue, { minLength: 1, maxLength: 6 }), (values) => {
        // An index sort key: the encoded values, then the subscriber suffix.
        const decoded = decodeFilterValues(`${encodeFilterValues(values)}#C#conn#S#n1;`, values.length);
        values.forEach((value, index) => {
          const encoded = encodeValue(value);
          if (encoded.startsWith('h')) expect(decoded[index]).toEqual({ digest: encoded.slice(1, -1) });
          else if (typeof value === 'number' && Number.isNaN(value)) expect(decoded[index]).toBeNaN();
          else expect(decoded[index]).toBe(value === -0 ? 0 : value);
        });
      }),
      { numRuns: 1000 },
    );
  });

  test('text that is not an encoding is refused', () => {
    expect(() => decodeFilterValues('x1;', 1)).toThrow('Not an encoded filter value: x1;');
    expect(() => decodeFilterValues('slobby', 1)).toThrow('Not an encoded filter value');
  });

  test('each filter of the route gets its values by field from the subscription\'s index keys', () => {
    const filters = [
      { name: 'byRoom', ctx: [], input: ['room'] },
      { name: 'byUserAndRoom', ctx: ['userId'], input: ['room'] },
      { name: 'declaredLater', ctx: ['userId'], input: [] },
    ];
    const keys = indexKeys('onMessage', [
      { name: 'byRoom', values: ['lobby'] },
      { name: 'byUserAndRoom', values: ['alice', 'lobby'] },
    ], 'conn#1', 7);
    expect(filtersFromIndexKeys('onMessage', filters, keys)).toEqual([
      { name: 'byRoom', values: [{ group: 'input', field: 'room', value: 'lobby' }] },
      { name: 'byUserAndRoom', values: [{ group: 'ctx', field: 'userId', value: 'alice' }, { group: 'input', field: 'room', value: 'lobby' }] },
    ]);
    // A filter name that starts like another one's is not mistaken for it.
    expect(filtersFromIndexKeys('onMessage', [{ name: 'by', ctx: [], input: ['room'] }], keys)).toEqual([]);
  });

  test('the memory store\'s filter entries get their field names from the route', () => {
    expect(filtersFromEntries([{ name: 'byUserAndRoom', ctx: ['userId'], input: ['room'] }], [
      { name: 'byUserAndRoom', values: ['alice', 'lobby'] }, { name: 'unknown', values: [1] },
    ])).toEqual([
      { name: 'byUserAndRoom', values: [{ group: 'ctx', field: 'userId', value: 'alice' }, { group: 'input', field: 'room', value: 'lobby' }] },
      { name: 'unknown', values: [{ group: 'input', field: '#1', value: 1 }] },
    ]);
  });
});
