import type { FilterEntry, FilterValue } from '../store/store';
import { isRecord } from '../util/guards';

/** A filter as configured with `.routes.<path>.filter(...)`, with its fields in declared order. */
export interface FilterConfig {
  readonly name: string;
  /** ctx fields, in declared order. */
  readonly ctx: readonly string[];
  /** input fields, in declared order. */
  readonly input: readonly string[];
}

/** Configured filters by procedure path. */
export type FilterRegistry = ReadonlyMap<string, readonly FilterConfig[]>;

/** A filter declaration as the user writes it (`{ name, ctx: { userId: true }, input: { room: true } }`). */
export interface FilterDeclaration {
  readonly name: string;
  readonly ctx?: Readonly<Record<string, true>>;
  readonly input?: Readonly<Record<string, true>>;
}

/** A publish filter as the user writes it (`{ name, ctx: { userId: 'u1' } }`). */
export interface PublishFilter {
  readonly name: string;
  readonly ctx?: Readonly<Record<string, unknown>>;
  readonly input?: Readonly<Record<string, unknown>>;
}


function selectedFields(path: string, name: string, group: 'ctx' | 'input', selector: unknown): string[] {
  if (selector === undefined) return [];
  if (!isRecord(selector)) {
    throw new Error(`Filter "${name}" on "${path}": \`${group}\` must be an object like { field: true }, got: ${JSON.stringify(selector)}`);
  }
  return Object.entries(selector).map(([field, selected]) => {
    if (selected !== true) {
      throw new Error(`Filter "${name}" on "${path}": \`${group}.${field}\` must be true, got: ${JSON.stringify(selected)}`);
    }
    return field;
  });
}

/** Validates a filter declaration and freezes its field order. */
export function toFilterConfig(path: string, declaration: FilterDeclaration, existing: readonly FilterConfig[]): FilterConfig {
  if (!isRecord(declaration) || typeof declaration.name !== 'string' || declaration.name === '') {
    throw new Error(`Filter on "${path}": \`name\` must be a non-empty string, got: ${JSON.stringify((declaration as { name?: unknown } | undefined)?.name)}`);
  }
  const { name } = declaration;
  if (existing.some((filter) => filter.name === name)) {
    throw new Error(`Filter on "${path}": \`name\` must be unique per route, got a second "${name}"`);
  }
  const ctx = selectedFields(path, name, 'ctx', declaration.ctx);
  const input = selectedFields(path, name, 'input', declaration.input);
  if (ctx.length + input.length === 0) {
    throw new Error(`Filter "${name}" on "${path}": select at least one \`ctx\` or \`input\` field`);
  }
  return { name, ctx, input };
}

/** Converts a field value to a stored filter value; `undefined` becomes `null`. */
export function toFilterValue(value: unknown, describe: () => string): FilterValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new Error(`${describe()} must be a string, a finite number, a boolean, null or undefined, got: ${typeof value}`);
}

function fieldOf(source: unknown, field: string): unknown {
  return isRecord(source) ? source[field] : undefined;
}

/**
 * The index entries of a new subscription: for each filter of its path, the values of the
 * filter's ctx fields then input fields, in declared order.
 */
export function filterEntriesFor(path: string, filters: readonly FilterConfig[], ctx: unknown, input: unknown): FilterEntry[] {
  return filters.map((filter) => ({
    name: filter.name,
    values: [
      ...filter.ctx.map((field) => toFilterValue(fieldOf(ctx, field), () => `Filter "${filter.name}" on "${path}": ctx.${field}`)),
      ...filter.input.map((field) => toFilterValue(fieldOf(input, field), () => `Filter "${filter.name}" on "${path}": input.${field}`)),
    ],
  }));
}

function prefixValues(
  path: string, filter: FilterConfig, group: 'ctx' | 'input', given: unknown,
): FilterValue[] {
  if (given === undefined) return [];
  if (!isRecord(given)) {
    throw new Error(`Publish to "${path}" with filter "${filter.name}": \`${group}\` must be an object, got: ${JSON.stringify(given)}`);
  }
  const declared = filter[group];
  const unknown = Object.keys(given).filter((field) => !declared.includes(field));
  if (unknown.length > 0) {
    throw new Error(
      `Publish to "${path}" with filter "${filter.name}": unknown ${group} field(s) ${unknown.join(', ')}; the filter declares ${group}: [${declared.join(', ')}]`,
    );
  }
  const count = Object.keys(given).length;
  const missing = declared.slice(0, count).filter((field) => !(field in given));
  if (missing.length > 0) {
    throw new Error(
      `Publish to "${path}" with filter "${filter.name}": ${group} fields must be a leading prefix of [${declared.join(', ')}]; missing ${missing.join(', ')} before the fields given`,
    );
  }
  return declared.slice(0, count).map((field) => toFilterValue(given[field], () => `Publish to "${path}" with filter "${filter.name}": ${group}.${field}`));
}

/**
 * Validates a publish filter against the route's configured filters and returns the values to
 * match: a leading prefix of the filter's fields, ctx fields first, then input fields.
 * Throws a descriptive Error for anything else, before any query runs.
 */
export function publishFilterEntry(path: string, filters: readonly FilterConfig[], filter: PublishFilter): FilterEntry {
  if (!isRecord(filter) || typeof filter.name !== 'string') {
    throw new Error(`Publish to "${path}": \`filter\` must be an object with a \`name\`, got: ${JSON.stringify(filter)}`);
  }
  const config = filters.find((candidate) => candidate.name === filter.name);
  if (!config) {
    const names = filters.map((candidate) => `"${candidate.name}"`).join(', ') || 'none';
    throw new Error(`Publish to "${path}": unknown filter "${filter.name}"; configured filters: ${names}`);
  }
  const extra = Object.keys(filter).filter((key) => !['name', 'ctx', 'input'].includes(key));
  if (extra.length > 0) {
    throw new Error(`Publish to "${path}" with filter "${filter.name}": unknown key(s) ${extra.join(', ')}; expected name, ctx, input`);
  }
  const ctxValues = prefixValues(path, config, 'ctx', filter.ctx);
  const inputValues = prefixValues(path, config, 'input', filter.input);
  if (inputValues.length > 0 && ctxValues.length < config.ctx.length) {
    throw new Error(
      `Publish to "${path}" with filter "${filter.name}": give every ctx field (${config.ctx.join(', ')}) before input fields; fields form a prefix, ctx first then input`,
    );
  }
  return { name: config.name, values: [...ctxValues, ...inputValues] };
}
