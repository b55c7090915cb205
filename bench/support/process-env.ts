/**
 * Imported first by run.ts, before any SDK client or router exists: DynamoDB Local and the local
 * gateway accept any credentials, Lambdas run as production (no stacks in error frames), and no
 * variable of the caller's shell changes what the handlers do.
 */
import { ENDPOINT_ENV, ROW_TTL_ENV, STORE_ENV, TABLE_NAME_ENV } from '../../lambda/constants';
import { METRICS_ENV } from '../../lambda/metric-names';

process.env.AWS_REGION = 'local';
process.env.AWS_ACCESS_KEY_ID = 'local';
process.env.AWS_SECRET_ACCESS_KEY = 'local';
process.env.NODE_ENV = 'production';
for (const name of [ENDPOINT_ENV, TABLE_NAME_ENV, ROW_TTL_ENV, STORE_ENV, 'AWS_PROFILE', 'AWS_SESSION_TOKEN']) delete process.env[name];
// The report goes to stdout, where the handlers would print an EMF metric line per invocation.
process.env[METRICS_ENV] = 'off';
