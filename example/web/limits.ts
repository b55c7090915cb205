/**
 * The chat's input limits, shared by the router (which enforces them) and the page (which shows
 * them while the user types, so nothing is cut or refused without telling).
 */

/** Longest message, in characters. */
export const MAX_MESSAGE_LENGTH = 500;
/** Longest user or room name, in characters. */
export const MAX_NAME_LENGTH = 40;
