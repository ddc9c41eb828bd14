// Server-sent events for the dashboard: every open stream gets `sandboxes` (the list document's data) at once and
// whenever it changes, `gate` for each gate record written (wherever the gate runs), and `ping` every 15 s. Only
// while a stream is open: the list is read again when the router's registry watch looks (on a change, and every
// second, which also catches containers that stopped), the gate records every 100 ms (as often as a gate writes).
import type { ServerResponse } from 'node:http';
import type { GateRecord } from '../adapters/gate-records.js';

export interface EventSources {
  /** The list document's data now (what `kinfra sandbox list --json` prints as `data`). */
  sandboxes(): Promise<unknown>;
  /** Every gate record now, for the sandboxes the registry holds. */
  gates(): GateRecord[];
  log(line: string): void;
}

const GATES_MS = 100;
const PING_MS = 15_000;

export function sseHead(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.write('retry: 2000\n\n');
}

export function sseEvent(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export class EventHub {
  private readonly streams = new Set<ServerResponse>();
  private lastList: string | undefined;
  private listing: Promise<void> | undefined;
  private readonly gateAt = new Map<string, string>();
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly sources: EventSources) {}

  /** A new stream: the current state at once, then every change. */
  async open(res: ServerResponse): Promise<void> {
    sseHead(res);
    this.streams.add(res);
    res.on('close', () => this.close(res));
    if (this.timers.length === 0) this.start();
    const list = await this.sources.sandboxes().catch(() => undefined);
    if (list !== undefined) sseEvent(res, 'sandboxes', list);
    for (const r of this.sources.gates()) sseEvent(res, 'gate', r);
  }

  /** Time to read the list again (the registry changed, or a second went by). */
  lookAgain(): void {
    if (this.streams.size > 0) void this.refreshList();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const s of this.streams) s.end();
    this.streams.clear();
  }

  private close(res: ServerResponse): void {
    this.streams.delete(res);
    if (this.streams.size === 0) this.stop();
  }

  private start(): void {
    for (const r of this.sources.gates()) this.gateAt.set(r.instanceId, r.at);
    this.timers = [
      setInterval(() => this.refreshGates(), GATES_MS),
      setInterval(() => this.broadcast('ping', { at: new Date().toISOString() }), PING_MS),
    ];
  }

  private broadcast(event: string, data: unknown): void {
    for (const s of this.streams) sseEvent(s, event, data);
  }

  /** One list at a time; sent only when it differs from the last one sent. */
  private refreshList(): Promise<void> {
    this.listing ??= (async () => {
      try {
        const data = await this.sources.sandboxes();
        const text = JSON.stringify(data);
        if (text !== this.lastList) {
          this.lastList = text;
          this.broadcast('sandboxes', data);
        }
      } catch (e) {
        this.sources.log(`dashboard: list failed: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        this.listing = undefined;
      }
    })();
    return this.listing;
  }

  private refreshGates(): void {
    for (const r of this.sources.gates()) {
      if (this.gateAt.get(r.instanceId) === r.at) continue;
      this.gateAt.set(r.instanceId, r.at);
      this.broadcast('gate', r);
    }
  }
}
