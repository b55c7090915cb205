import type { AnyTRPCProcedure, AnyTRPCRouter } from '@trpc/server';
import type { AnySubscriptionTypes, subscriptionTypes } from './resolver';

/** Values a filter field may hold (`undefined` is stored and matched as `null`). */
export type ScalarValue = string | number | boolean | null | undefined;

/** Keys of `T` whose values are scalars: the fields a filter may use. */
export type ScalarKeys<T> = T extends object
  ? { [K in keyof T & string]-?: T[K] extends ScalarValue ? K : never }[keyof T & string]
  : never;

/** The {@link AnySubscriptionTypes} of a procedure made with `subscriptions.resolver()`, else never. */
export type ProcedureSubscriptionTypes<TProcedure> = TProcedure extends AnyTRPCProcedure
  ? TProcedure['_def']['type'] extends 'subscription'
    ? TProcedure['_def']['$types']['output'] extends AsyncIterable<any, any, infer TNext>
      // A plain async generator has TNext `any`: not ours.
      ? 0 extends (1 & TNext) ? never : TNext extends AnySubscriptionTypes ? TNext : never
      : never
    : never
  : never;

/** The record of a nested router value (tRPC keeps nested routers as records or built routers). */
export type RecordOf<TValue> = TValue extends AnyTRPCRouter ? TValue['_def']['record'] : TValue;

/** True when a router record value contains at least one subscription made by this library. */
export type HasRoutes<TValue> = TValue extends AnyTRPCProcedure
  ? [ProcedureSubscriptionTypes<TValue>] extends [never] ? false : true
  : TValue extends object
    ? [RouteKeys<RecordOf<TValue>>] extends [never] ? false : true
    : false;

/** Keys of a router record that lead to subscriptions made by this library. */
export type RouteKeys<TRecord> = {
  [K in keyof TRecord & string]: HasRoutes<TRecord[K]> extends true ? K : never
}[keyof TRecord & string];

/** The ctx type of a subscription. */
export type CtxOf<TTypes extends AnySubscriptionTypes> = TTypes[typeof subscriptionTypes]['ctx'];

/** A configured filter, as the type system remembers it. */
export interface FilterDef<TPath extends string, TName extends string, TCtxKeys extends string, TInputKeys extends string> {
  readonly path: TPath;
  readonly name: TName;
  readonly ctx: TCtxKeys;
  readonly input: TInputKeys;
}

/** Any {@link FilterDef}. */
export type AnyFilterDef = FilterDef<string, string, string, string>;

/** A route that keeps an event history (`.routes.<path>.history()`), as the type system remembers it. */
export interface HistoryDef<TPath extends string> extends FilterDef<TPath, never, never, never> {
  readonly history: true;
}

/** The configured filters of one path. */
export type FiltersOf<TFilters extends AnyFilterDef, TPath extends string> =
  Exclude<Extract<TFilters, { readonly path: TPath }>, { readonly history: true } | { readonly presence: true }>;

/** Whether a path keeps an event history. */
export type HasHistory<TFilters extends AnyFilterDef, TPath extends string> =
  [Extract<TFilters, { readonly path: TPath; readonly history: true }>] extends [never] ? false : true;

/** Which fields of a ctx or input type a filter declaration may name. */
export type FieldSelector<T> = { readonly [K in ScalarKeys<T>]?: true };

/** Rejects keys that are not filterable fields (object literal keys are inferred, so check them). */
export type OnlyKeys<TSelector, TAllowed extends string> = {
  readonly [K in Exclude<keyof TSelector, TAllowed>]: never;
};

/** Field values of a publish filter; `undefined` is allowed where the field is optional. */
/** The values of the selected fields of `T`. */
export type FieldValues<T, TKeys extends string> = T extends object ? Pick<T, TKeys & keyof T> : never;

/**
 * The publish filter for one configured filter: its name and a leading prefix of its fields,
 * ctx fields first then input fields. TypeScript cannot observe the key order of an object
 * literal, so within the ctx or the input group any subset type-checks; the runtime rejects a
 * subset that is not a leading prefix of the declaration.
 */
export type PublishFilterFor<TDef extends AnyFilterDef, TCtx, TInput> = TDef extends AnyFilterDef
  ? [TDef['ctx']] extends [never]
    ? {
      readonly name: TDef['name'];
      readonly ctx?: never;
      readonly input?: [TDef['input']] extends [never] ? never : Partial<FieldValues<TInput, TDef['input']>>;
    }
    :
    | {
      readonly name: TDef['name'];
      readonly ctx?: Partial<FieldValues<TCtx, TDef['ctx']>>;
      readonly input?: never;
    }
    | {
      readonly name: TDef['name'];
      readonly ctx: FieldValues<TCtx, TDef['ctx']>;
      readonly input?: [TDef['input']] extends [never] ? never : Partial<FieldValues<TInput, TDef['input']>>;
    }
  : never;

/** The data type of a subscription. */
export type DataOf<TTypes extends AnySubscriptionTypes> = TTypes[typeof subscriptionTypes]['data'];
/** The input type of a subscription. */
export type InputOf<TTypes extends AnySubscriptionTypes> = TTypes[typeof subscriptionTypes]['input'];
/** Whether a subscription's events are tracked. */
export type TrackedOf<TTypes extends AnySubscriptionTypes> = TTypes[typeof subscriptionTypes]['tracked'];
