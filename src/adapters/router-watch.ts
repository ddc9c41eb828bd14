// Noticing that the registry changed, so the router's table follows create, destroy and slot changes without a
// restart: fs.watch on the registry's folder (every write is a rename into it) for a quick answer, and a poll every
// second for file systems where watching says nothing. The caller reads the registry itself and compares.
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

export interface Watching {
  stop(): void;
}

/** Call `changed` soon after the folder of `file` changes, and every `pollMs` in any case; never twice at once. */
export function watchRegistry(file: string, changed: () => Promise<void>, pollMs = 1000): Watching {
  const dir = dirname(file);
  let watcher: FSWatcher | undefined;
  let running = false;
  let again = false;
  let soon: NodeJS.Timeout | undefined;
  const run = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await changed();
    } finally {
      running = false;
      if (again) {
        again = false;
        void run();
      }
    }
  };
  // The folder may not exist yet (no sandbox was ever created): try again at each poll.
  const ensureWatcher = () => {
    if (watcher) return;
    try {
      watcher = watch(dir, { persistent: false }, () => {
        clearTimeout(soon);
        soon = setTimeout(() => void run(), 30);
      });
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      watcher = undefined;
    }
  };
  ensureWatcher();
  const poll = setInterval(() => {
    ensureWatcher();
    void run();
  }, pollMs);
  return {
    stop() {
      clearInterval(poll);
      clearTimeout(soon);
      watcher?.close();
    },
  };
}
