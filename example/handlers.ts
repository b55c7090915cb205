/** The Lambda entry of the example: the construct bundles this file (`entry`). */
import { appSubscriptions } from './app-router';

/** `$connect` */
export const connect = appSubscriptions.connect();
/** `$default` (two-way) */
export const handler = appSubscriptions.handler();
/** `$disconnect` */
export const disconnect = appSubscriptions.disconnect();
/** The scheduled rollover: tells connections near the 2-hour limit to reconnect. */
export const rollover = appSubscriptions.rollover();
