// Whether a process still runs, by pid: how kinfra tells the record of a live process from a killed one's.

/**
 * Whether a process with this pid runs on this machine. Signal 0 only asks; EPERM means it runs as another user.
 * A pid can be reused after its process died, so a "yes" may be someone else's: callers treat it as the safe answer
 * (wait, or leave the record for doctor), never as a licence to remove anything.
 */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
