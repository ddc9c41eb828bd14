import { describe, expect, it } from 'vitest';
import { engineError, parseHostPorts } from '../../src/adapters/engine.js';

describe('engine adapter: parsing what docker prints', () => {
  it('reads host ports from the Ports column of v1- and v2-made containers, IPv4 and IPv6, single and ranges', () => {
    expect(parseHostPorts('')).toEqual([]);
    expect(parseHostPorts('5432/tcp')).toEqual([]);
    expect(parseHostPorts('127.0.0.1:8001->8000/tcp')).toEqual([8001]);
    expect(parseHostPorts('0.0.0.0:5433->5432/tcp, :::5433->5432/tcp')).toEqual([5433]);
    expect(parseHostPorts('127.0.0.1:4327->4317/tcp, 127.0.0.1:4328->4318/tcp, 127.0.0.1:16687->16686/tcp')).toEqual([
      4327, 4328, 16687,
    ]);
    expect(parseHostPorts('0.0.0.0:5010-5012->5000-5002/tcp')).toEqual([5010, 5011, 5012]);
    expect(parseHostPorts('[::1]:9091->9090/tcp')).toEqual([9091]);
  });

  it('turns docker failures into one actionable error each (exit category engine)', () => {
    const missing = engineError(undefined, 'list containers');
    expect(missing).toMatchObject({ category: 'engine', code: 'docker-missing' });
    const notRunning = engineError(
      {
        exitCode: 1,
        stdout: '',
        stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
      },
      'x',
    );
    expect(notRunning).toMatchObject({ code: 'docker-not-running', message: 'The Docker daemon is not running.' });
    expect(notRunning.hint).toContain('systemctl start docker');
    const denied = engineError(
      {
        exitCode: 1,
        stdout: '',
        stderr:
          'Got permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock',
      },
      'x',
    );
    expect(denied).toMatchObject({ code: 'docker-permission-denied' });
    expect(denied.hint).toContain('usermod -aG docker');
    const other = engineError(
      { exitCode: 1, stdout: '', stderr: 'Error response from daemon: something odd' },
      'list volumes',
    );
    expect(other.message).toBe('docker could not list volumes: Error response from daemon: something odd');
  });
});

describe('engine adapter on the real engine', () => {
  it('the Engine API fast path and the docker CLI see the same containers, labels and host ports', async () => {
    const { spawnSync } = await import('node:child_process');
    const { containersFromApi, containersFromCli } = await import('../../src/adapters/engine.js');
    const name = `kinfra-engine-test-${process.pid}`;
    const r = spawnSync(
      'docker',
      [
        'run',
        '-d',
        '--rm',
        '--name',
        name,
        '-l',
        'com.docker.compose.project=kte--engine',
        '-l',
        'com.docker.compose.service=web',
        '-p',
        '127.0.0.1:0:80',
        '-p',
        '127.0.0.1:0:81',
        'debian:bookworm-slim',
        'sleep',
        '60',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    try {
      const api = await containersFromApi();
      const cli = await containersFromCli();
      expect(api).toBeDefined();
      const pick = (cs: typeof cli) => cs.find((c) => c.name === name);
      const a = pick(api!);
      const c = pick(cli);
      expect(a).toMatchObject({ project: 'kte--engine', service: 'web', state: 'running' });
      expect(a!.hostPorts).toHaveLength(2);
      expect({ ...a, status: '' }).toEqual({ ...c, status: '' });
    } finally {
      spawnSync('docker', ['rm', '-f', name]);
    }
  });
});
