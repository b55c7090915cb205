/**
 * The environment file `dev` writes for scripts in other terminals: the same variables it set for
 * the handlers (endpoint, table, DynamoDB Local, dummy credentials), in the `KEY=value` format that
 * Node.js (`node --env-file`, Node.js >= 20.6) and tsx (`tsx --env-file`) read.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

/** `KEY=value` lines; a value a shell-like parser could misread is single-quoted. */
export function formatEnvFile(env: Readonly<Record<string, string>>): string {
  const quote = (value: string) => (/^[\w@%+=:,./-]*$/.test(value) ? value : `'${value}'`);
  return Object.entries(env).map(([name, value]) => `${name}=${quote(value)}\n`).join('');
}

/** A written environment file, removed by `remove()` unless someone rewrote it meanwhile. */
export interface WrittenEnvFile {
  readonly path: string;
  remove(): void;
}

/** Writes `env` to `path` (replacing it). */
export function writeEnvFile(path: string, env: Readonly<Record<string, string>>): WrittenEnvFile {
  const text = formatEnvFile(env);
  writeFileSync(path, text);
  return {
    path,
    remove: () => {
      try {
        // Another `dev` in the same folder may have written its own since: leave that one.
        if (readFileSync(path, 'utf8') === text) rmSync(path);
      } catch {
        // already gone
      }
    },
  };
}
