"""KTRDR-shaped backend stand-in: health (checks PostgreSQL), worker registry, docs."""
import os
import threading
import time
from datetime import datetime, timezone

import psycopg2

from common import Handler, exit_on_sigterm, serve

PORT = int(os.environ.get("API_PORT", "8000"))
WORKER_TTL = float(os.environ.get("WORKER_TTL_SECONDS", "10"))
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
<li><code>GET /api/v1/health</code> &mdash; 200 when PostgreSQL answers <code>SELECT 1</code>, else 503</li>
<li><code>GET /api/v1/workers</code> &mdash; workers seen in the last %d s</li>
<li><code>POST /api/v1/workers/register</code> &mdash; body <code>{"id", "type", "url"}</code></li>
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
                self.send_json(503, {"status": "unavailable", "reason": "database: " + reason})
                return
            self.send_json(200, {"status": "ok"})
        elif path == "/api/v1/workers":
            now = time.time()
            with _lock:
                live = [w for w in _workers.values() if now - w["last_seen"] < WORKER_TTL]
            live.sort(key=lambda w: w["id"])
            self.send_json(200, {"workers": [
                {"id": w["id"], "type": w["type"], "url": w["url"], "last_seen": iso(w["last_seen"])}
                for w in live]})
        elif path == "/api/v1/docs":
            self.send_html(200, DOCS)
        elif path == "/":
            self.send_json(200, {"service": "backend", "docs": "/api/v1/docs"})
        else:
            self.send_json(404, {"error": "not found", "path": path})

    do_HEAD = do_GET

    def do_POST(self):
        path = self.path.split("?", 1)[0].rstrip("/")
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
