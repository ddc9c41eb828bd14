import { describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../src/adapters/engine.js';
import { projectState, SANDBOX_PROJECT, stateLabel } from '../../src/app/engine-state.js';

const c = (project: string, state: string, health?: ContainerInfo['health']): ContainerInfo => ({
  id: 'x',
  name: 'x',
  state,
  status: '',
  health,
  project,
  service: 's',
  hostPorts: [],
  workingDir: undefined,
  labels: {},
  volumes: [],
});

describe('project state from engine containers', () => {
  it('counts running and healthy apart, and only containers with a healthcheck can be healthy', () => {
    const cs = [
      c('p', 'running', 'healthy'),
      c('p', 'running'),
      c('p', 'exited'),
      c('q', 'running', 'healthy'),
      c('p', 'running', 'unhealthy'),
      c('p', 'running', 'starting'),
    ];
    expect(projectState(cs, 'p')).toEqual({
      state: 'partial',
      total: 5,
      running: 4,
      healthy: 1,
      unhealthy: 1,
      starting: 1,
      withHealthcheck: 3,
    });
    expect(stateLabel(projectState(cs, 'p'))).toBe('partial 4/5');
  });

  it('says running, stopped or missing', () => {
    expect(stateLabel(projectState([c('p', 'running')], 'p'))).toBe('running');
    expect(stateLabel(projectState([c('p', 'exited'), c('p', 'created')], 'p'))).toBe('stopped');
    expect(stateLabel(projectState([c('q', 'running')], 'p'))).toBe('stopped');
  });

  it('recognises compose projects of kinfra naming only', () => {
    for (const p of ['ktrdr--feat', 'kte--alpha', 'myapp--x-2']) expect(SANDBOX_PROJECT.test(p), p).toBe(true);
    for (const p of ['ktrdr', 'kinfra-build', 'my_project', '--x', 'ktrdr--'])
      expect(SANDBOX_PROJECT.test(p), p).toBe(false);
  });
});
