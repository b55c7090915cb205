/** The Lambda entry of the example: the construct bundles this file (`entry`). */
import { appSubscriptions } from './app-router';

/** `$connect` */
export const connect = appSubscriptions.connect();
/** `$default` (two-way) */
export const handler = appSubscriptions.handler();
/** `$disconnect` */
export const disconnect = appSubscriptions.disconnect();
