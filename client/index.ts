/**
 * `cdk-trpc-subscriptions/client`: what a browser or Node.js client adds to the stock
 * `@trpc/client` (`createWSClient` + `wsLink`). Imports nothing of the Lambda runtime.
 */
export { isConnectionError, resubscribeLink, type ResubscribeLinkOptions } from './resubscribe-link';
export { applyPresence, emptyPresence, type PresenceEvent, type PresenceMember, type PresenceState } from './presence';
