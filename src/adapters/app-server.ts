// A node:http server that listens on nothing: the router hands it the client connections whose requests are the
// dashboard's or the API's (router-server.ts, adopt), and it answers them with node:http's own parsing, bodies and
// streams, which those answers need and a backend's never do.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface AppServer {
  adopt(socket: Socket): void;
  close(): void;
}

export function appServer(handle: (req: IncomingMessage, res: ServerResponse) => void): AppServer {
  const server: Server = createServer({ keepAliveTimeout: 5_000, headersTimeout: 60_000 }, handle);
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  return {
    adopt: (socket) => void server.emit('connection', socket),
    close: () => server.closeAllConnections(),
  };
}
