"""KTRDR-shaped backend stand-in: health (checks PostgreSQL, names its instance), worker registry, docs, and for
the router's tests a websocket echo and an upload counter."""
import base64
import hashlib
import json
import os
import struct
import threading
import time
from datetime import datetime, timezone

import psycopg2

from common import Handler, exit_on_sigterm, serve

PORT = int(os.environ.get("API_PORT", "8000"))
WORKER_TTL = float(os.environ.get("WORKER_TTL_SECONDS", "10"))
# The sandbox this copy belongs to (kinfra's INSTANCE_ID), and its compose project; empty outside kinfra.
INSTANCE = os.environ.get("INSTANCE_ID") or os.environ.get("COMPOSE_PROJECT_NAME") or None
PROJECT = os.environ.get("COMPOSE_PROJECT_NAME") or None
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC11B65"  # RFC 6455, section 1.3
CHUNK = 64 * 1024
DB = dict(
    host=os.environ.get("DB_HOST", "db"),
    port=int(os.environ.get("DB_PORT", "5432")),
    dbname=os.environ.get("DB_NAME", "ktrdr"),
    user=os.environ.get("DB_USER", "ktrdr"),
    password=os.environ.get("DB_PASSWORD", "localdev"),
    connect_timeout=2,
)

_workers = {}  # id -> {"id", "type", "url", "last_seen" (epoch seconds)}
_lock = threading.Lock()

DOCS = """<!doctype html>
<html><head><title>KTRDR example API</title></head><body>
<h1>KTRDR example API</h1>
<ul>
<li><code>GET /api/v1/health</code> &mdash; 200 when PostgreSQL answers <code>SELECT 1</code>, else 503; names the
instance</li>
<li><code>GET /api/v1/workers</code> &mdash; workers seen in the last %d s</li>
<li><code>POST /api/v1/workers/register</code> &mdash; body <code>{"id", "type", "url"}</code></li>
<li><code>GET /ws</code> &mdash; websocket echo: every text or binary message comes back as it was sent</li>
<li><code>GET /cookie</code> &mdash; sets a host-only cookie naming the instance; answers with the
<code>Cookie</code> header it got</li>
<li><code>POST /upload</code> &mdash; reads the body (Content-Length or chunked) without keeping it; answers
<code>{"bytes": N}</code></li>
</ul></body></html>
""" % WORKER_TTL


def check_db():
    """A fresh connection per check, so a restarted database is picked up at once."""
    conn = psycopg2.connect(**DB)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone()[0] == 1
    finally:
        conn.close()


def read_exact(stream, n):
    """Exactly n bytes, or None when the peer closed first."""
    data = b""
    while len(data) < n:
        part = stream.read(n - len(data))
        if not part:
            return None
        data += part
    return data


def ws_frame(opcode, payload, fin=True):
    """One server frame (never masked, RFC 6455 section 5.1)."""
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, n)
    elif n < 65536:
        head = struct.pack("!BBH", first, 126, n)
    else:
        head = struct.pack("!BBQ", first, 127, n)
    return head + payload


def ws_read(stream):
    """One client frame as (fin, opcode, unmasked payload), or None when the peer closed or broke the protocol."""
    head = read_exact(stream, 2)
    if head is None:
        return None
    fin, opcode = bool(head[0] & 0x80), head[0] & 0x0F
    masked, n = bool(head[1] & 0x80), head[1] & 0x7F
    if n == 126:
        ext = read_exact(stream, 2)
        if ext is None:
            return None
        n = struct.unpack("!H", ext)[0]
    elif n == 127:
        ext = read_exact(stream, 8)
        if ext is None:
            return None
        n = struct.unpack("!Q", ext)[0]
    if not masked:  # a client must mask every frame (section 5.1)
        return None
    mask = read_exact(stream, 4)
    payload = read_exact(stream, n) if n else b""
    if mask is None or payload is None:
        return None
    return fin, opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def iso(ts):
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


class BackendHandler(Handler):
    def do_GET(self):
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/api/v1/health":
            try:
                check_db()
            except Exception as exc:  # any failure means "not healthy"
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                self.send_json(503, {"status": "unavailable", "reason": "database: " + reason, "instance": INSTANCE})
                return
            self.send_json(200, {"status": "ok", "instance": INSTANCE, "project": PROJECT})
        elif path == "/api/v1/workers":
            now = time.time()
            with _lock:
                live = [w for w in _workers.values() if now - w["last_seen"] < WORKER_TTL]
            live.sort(key=lambda w: w["id"])
            self.send_json(200, {"workers": [
                {"id": w["id"], "type": w["type"], "url": w["url"], "last_seen": iso(w["last_seen"])}
                for w in live]})
        elif path == "/ws":
            self.websocket_echo()
        elif path == "/cookie":
            body = json.dumps({"instance": INSTANCE, "cookie": self.headers.get("Cookie")}).encode()
            self.send_response(200)
            # No Domain: a host-only cookie of whatever name the browser used to reach this copy.
            self.send_header("Set-Cookie", "session=%s; Path=/; HttpOnly; SameSite=Lax" % (INSTANCE or "main"))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        elif path == "/api/v1/docs":
            self.send_html(200, DOCS)
        elif path == "/":
            self.send_json(200, {"service": "backend", "docs": "/api/v1/docs"})
        else:
            self.send_json(404, {"error": "not found", "path": path})

    do_HEAD = do_GET

    def websocket_echo(self):
        """The RFC 6455 handshake, then every data frame echoed back unmasked; ping answered, close returned."""
        key = self.headers.get("Sec-WebSocket-Key")
        if "websocket" not in (self.headers.get("Upgrade") or "").lower() or not key:
            self.send_json(426, {"error": "websocket upgrade required", "path": "/ws"})
            return
        accept = base64.b64encode(hashlib.sha1((key.strip() + WS_GUID).encode()).digest()).decode()
        # Written by hand: the handshake as RFC 6455 shows it, without the Server and Date lines send_response adds.
        self.wfile.write((
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
        self.close_connection = True
        while True:
            frame = ws_read(self.rfile)
            if frame is None:
                return
            fin, opcode, payload = frame
            if opcode == 0x8:  # close: answer with the same status, then end
                self.wfile.write(ws_frame(0x8, payload[:2]))
                return
            if opcode == 0x9:  # ping
                self.wfile.write(ws_frame(0xA, payload))
            elif opcode in (0x0, 0x1, 0x2):  # continuation, text, binary: echoed frame by frame
                self.wfile.write(ws_frame(opcode, payload, fin))

    def read_some(self, n):
        """The next n bytes of the body, CHUNK at a time."""
        while n > 0:
            part = self.rfile.read(min(CHUNK, n))
            if not part:
                raise EOFError("body ended early")
            n -= len(part)
            yield part

    def read_body_chunks(self):
        """The request body piece by piece (Content-Length or chunked), never all of it at once."""
        if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
            yield from self.read_some(int(self.headers.get("Content-Length") or 0))
            return
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            yield from self.read_some(size)
            self.rfile.readline()  # the CRLF after each chunk

    def upload(self):
        try:
            total = sum(len(part) for part in self.read_body_chunks())
        except (EOFError, ValueError) as exc:
            self.close_connection = True
            self.send_json(400, {"error": "bad upload: %s" % exc})
            return
        self.send_json(200, {"bytes": total})

    def do_POST(self):
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/upload":
            self.upload()
            return
        if path != "/api/v1/workers/register":
            self.send_json(404, {"error": "not found", "path": path})
            return
        try:
            body = self.read_json()
            wid, wtype, url = str(body["id"]), str(body["type"]), str(body.get("url", ""))
        except Exception as exc:
            self.send_json(400, {"error": "bad registration: %s" % exc})
            return
        if wtype not in ("backtest", "training"):
            self.send_json(400, {"error": "type must be 'backtest' or 'training'"})
            return
        with _lock:
            new = wid not in _workers
            _workers[wid] = {"id": wid, "type": wtype, "url": url, "last_seen": time.time()}
        if new:
            print("registered worker %s (%s) at %s" % (wid, wtype, url), flush=True)
        self.send_json(200, {"status": "registered", "id": wid})


if __name__ == "__main__":
    exit_on_sigterm()
    print("backend listening on :%d (db %s:%s/%s)" % (PORT, DB["host"], DB["port"], DB["dbname"]), flush=True)
    serve(BackendHandler, PORT)
