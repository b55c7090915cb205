/**
 * Imported first by run.ts, before any SDK client or router exists: DynamoDB Local and the local
 * gateway accept any credentials, and Lambdas run as production (no stacks in error frames).
 */
process.env.AWS_REGION = 'local';
process.env.AWS_ACCESS_KEY_ID = 'local';
process.env.AWS_SECRET_ACCESS_KEY = 'local';
process.env.NODE_ENV = 'production';
delete process.env.TRPC_SUBSCRIPTIONS_ENDPOINT;
delete process.env.TRPC_SUBSCRIPTIONS_TABLE_NAME;
delete process.env.AWS_PROFILE;

export {};
