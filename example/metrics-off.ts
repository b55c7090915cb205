/**
 * Imported first by `npm run demo`: the runtime's metric lines (CloudWatch Embedded Metric Format
 * JSON on stdout) are for CloudWatch, and on a terminal they bury the demo's own output. `dev`
 * turns them off the same way; set `TRPC_SUBSCRIPTIONS_METRICS=on` to see them.
 */
if (!process.env.TRPC_SUBSCRIPTIONS_METRICS) process.env.TRPC_SUBSCRIPTIONS_METRICS = 'off';

export {};
