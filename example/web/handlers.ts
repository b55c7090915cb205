/** The Lambda entry of the web example (the construct's `entry`). */
import { chatApp } from './chat-router';

/** `$connect` */
export const connect = chatApp.connect();
/** `$default` (two-way) */
export const handler = chatApp.handler();
/** `$disconnect` */
export const disconnect = chatApp.disconnect();
/** The scheduled rollover: tells connections near the 2-hour limit to reconnect. */
export const rollover = chatApp.rollover();
