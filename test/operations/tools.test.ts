import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { catalogueTools, handlerInput, inputShape, requiredInputs } from '../../src/operations/tools.js';
import { CATALOGUE } from '../../src/operations/catalogue.js';

/** Issue 15: the tools are views of the catalogue's operations; what a view fixes, the client cannot change. */
const tools = catalogueTools(CATALOGUE);
const tool = (name: string) => tools.find((t) => t.view.name === name)!;

describe('MCP tools from the catalogue', () => {
  it('names every tool once, and each has a CLI twin in the catalogue', () => {
    const names = tools.map((t) => t.view.name);
    expect(new Set(names).size).toBe(names.length);
    expect(tool('wait_ready').op.name).toBe('gate');
    expect(tool('port_owner').op.name).toBe('ports');
    expect(tool('claim').op.name).toBe('init');
    for (const t of tools) expect(CATALOGUE).toContain(t.op);
  });

  it("a view's fixed inputs win over the client's; omitted ones keep their defaults", () => {
    expect(handlerInput(tool('port_owner'), { who: 'nobody', port: 8000 })).toEqual({ who: 'who', port: 8000 });
    expect(handlerInput(tool('ports'), { who: 'who', port: 8000 })).toEqual({});
    expect(handlerInput(tool('claim'), { fromPool: false })).toMatchObject({ fromPool: true });
    expect(handlerInput(tool('logs'), {})).toMatchObject({ tail: 100, follow: false });
  });

  it('force is offered only when the server allows it; required inputs are required in the schema', () => {
    expect(Object.keys(inputShape(z, tool('release'), false))).not.toContain('force');
    expect(Object.keys(inputShape(z, tool('release'), true))).toContain('force');
    expect(requiredInputs(tool('release'))).toEqual(['slot']);
    expect(requiredInputs(tool('port_owner'))).toEqual(['port']);
    const schema = z.object(inputShape(z, tool('port_owner'), false));
    expect(schema.safeParse({}).success).toBe(false);
    expect(schema.safeParse({ port: 8000 }).success).toBe(true);
  });
});
