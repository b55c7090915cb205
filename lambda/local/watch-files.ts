import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A set of watched files. */
export interface FileWatcher {
  /** Replace the watched files (e.g. after a rebuild found new imports). */
  update(files: readonly string[]): void;
  close(): void;
}

/**
 * Call `onChange` once, `debounceMs` after the last change to any of `files`. Watches the files'
 * folders rather than the files, because editors often save by replacing the file (a new inode
 * that a per-file watcher would miss).
 */
export function watchFiles(files: readonly string[], onChange: (changed: string) => void, debounceMs = 150): FileWatcher {
  let watched = new Set<string>();
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let lastChanged = '';

  const schedule = (file: string) => {
    lastChanged = file;
    clearTimeout(timer);
    timer = setTimeout(() => onChange(lastChanged), debounceMs);
  };

  const update = (next: readonly string[]) => {
    watched = new Set(next);
    const folders = new Set(next.map((file) => dirname(file)));
    for (const [folder, watcher] of watchers) {
      if (!folders.has(folder)) {
        watcher.close();
        watchers.delete(folder);
      }
    }
    for (const folder of folders) {
      if (watchers.has(folder)) continue;
      try {
        const watcher = watch(folder, (_event, name) => {
          const file = name ? join(folder, basename(name.toString())) : undefined;
          if (file !== undefined && watched.has(file)) schedule(file);
        });
        watcher.on('error', () => watchers.delete(folder));
        watchers.set(folder, watcher);
      } catch {
        // The folder vanished; the next update retries.
      }
    }
  };

  update(files);
  return {
    update,
    close: () => {
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
