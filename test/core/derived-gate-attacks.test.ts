// Adversarial review of the derived gate (issue 14): it must not pass a stack whose server is down.
import { describe, expect, it } from 'vitest';
import { expectedServices, servicesVerdict } from '../../src/core/derived-gate.js';

describe('derived gate under attack', () => {
  // BUG: expectedServices calls every service with no `restart:` a one-shot (`s?.restart === undefined`), and most
  // dev compose files set no restart policy. A web server with a healthcheck and a published port that was stopped
  // (`docker stop` -> "Exited (0)") then counts as "one-shot done" and the gate passes: "Services running (0 of 1;
  // 1 one-shot done)" with nothing listening. A service with a healthcheck (or one nobody waits for to complete)
  // that has exited is not done.
  it('does not pass a long-running service with a healthcheck that has exited 0', () => {
    const config = {
      services: {
        web: {
          image: 'nginx',
          ports: [{ target: 80, published: '8080' }],
          healthcheck: { test: ['CMD', 'curl', '-f', 'http://localhost/'] },
        },
      },
    };
    const expected = expectedServices(config);
    const verdict = servicesVerdict(expected, [
      { service: 'web', state: 'exited', status: 'Exited (0) 5 seconds ago', health: undefined },
    ]);
    expect(verdict.ok).toBe(false);
  });
});
