export * from './trpc-subscription-api';
export * from './trpc-subscription-api-props';
export * from './prop-validation-error';
