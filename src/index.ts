export * from './trpc-subscription-api';
export * from './trpc-subscription-api-props';
export * from './prop-validation-error';
export * from './operations-props';
export * from './trpc-subscription-api-metrics';
export * from './multi-region-props';
export * from './publisher-function';
export * from './fan-out-queue';
