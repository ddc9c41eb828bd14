import { describe, expect, it } from 'vitest';
import { run } from '../../src/adapters/runner.js';

describe('runner: deadlines for captured commands', () => {
  it('kills a child that misses its deadline and says so, even when a grandchild holds its output open', async () => {
    const started = Date.now();
    // The background sleep keeps stdout open after sh is killed, as the docker CLI's compose plugin would.
    const r = await run('sh', ['-c', 'echo partial; sleep 5 & sleep 5'], { timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(r).toMatchObject({ exitCode: 124, timedOut: true, stdout: 'partial' });
  });

  it('lets a slow child that finishes in time finish, and has no deadline unless asked', async () => {
    expect(await run('sh', ['-c', 'sleep 0.3; echo done'], { timeoutMs: 5_000 })).toEqual({
      exitCode: 0,
      stdout: 'done',
      stderr: '',
    });
    expect(await run('sh', ['-c', 'sleep 0.3; echo done'])).toEqual({ exitCode: 0, stdout: 'done', stderr: '' });
  });
});

describe('runner: a streamed child and the signals kinfra gets', () => {
  it(
    "forwards the signal to the child; a caller that listens for it itself (up's Ctrl-C) " + 'gets the exit code back',
    async () => {
      const { runStreaming } = await import('../../src/adapters/runner.js');
      const callers = { SIGINT: 0 };
      const caller = () => callers.SIGINT++;
      process.on('SIGINT', caller);
      try {
        const started = Date.now();
        const code = runStreaming('sleep', ['5'], { output: 'stderr' });
        process.kill(process.pid, 'SIGINT');
        expect(await code).toBe(130);
        expect(Date.now() - started).toBeLessThan(3_000);
        expect(callers.SIGINT).toBe(1);
        // The forwarding ends with the child: nothing of it stays on the process.
        expect(process.listeners('SIGINT')).toEqual([caller]);
      } finally {
        process.removeListener('SIGINT', caller);
      }
    },
  );
});
