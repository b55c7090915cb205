/**
 * A few DOM helpers for the console page (no framework: the page ships inside the package). Text
 * always goes through `textContent`, never HTML: the page shows whatever apps publish.
 */

/** A child of {@link h}: an element, text, or nothing. */
export type Child = Node | string | number | false | null | undefined;

/** Attributes of {@link h}: `className`, `data-*`, `title`..., and `on*` listeners. */
export type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/** Creates an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === 'className') element.className = String(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'object' ? child : String(child));
  }
  return element;
}

/** Replaces the children of `parent`. */
export function replaceChildren(parent: Element, children: Child[]): void {
  parent.replaceChildren(...children.filter((child): child is Node | string | number => child !== null && child !== undefined && child !== false)
    .map((child) => (typeof child === 'object' ? child : String(child))));
}

/** `12:03:45.120` */
export function clock(epochMs: number): string {
  const date = new Date(epochMs);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** `4 s`, `3 min 05 s`, `1 h 02 min` */
export function age(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** A JSON value on one line, cut to `max` characters. */
export function compact(value: unknown, max = 160): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A long id shortened for display (the whole id is in the title). */
export function shortId(id: string): string {
  return id.length > 10 ? `${id.slice(0, 8)}…` : id;
}

/** The counts the publisher's results carry, in the order they are shown. */
const RESULT_COUNTS = ['matched', 'delivered', 'stopped', 'succeeded', 'gone', 'failed'];

/** An action's result in words: `Published: matched 3 · delivered 1 · gone 1 · failed 1`, `Enqueued: message 5d…`. */
export function describeResult(what: string, result: unknown): string {
  const value = (result ?? {}) as Record<string, unknown>;
  const counts = RESULT_COUNTS.filter((name) => typeof value[name] === 'number').map((name) => `${name} ${String(value[name])}`);
  if (typeof value.messageId === 'string') counts.push(`message ${value.messageId}`);
  if (typeof value.eventId === 'string') counts.push(`event ${value.eventId}`);
  return `${what}: ${counts.length > 0 ? counts.join(' · ') : compact(result)}`;
}
