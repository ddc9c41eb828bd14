"""Shared helpers for the example stack's tiny HTTP services (stdlib only)."""
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

QUIET = os.environ.get("LOG_REQUESTS", "0") != "1"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Handler(BaseHTTPRequestHandler):
    server_version = "kinfra-example/1"
    # Keep-alive connections, as a real backend (uvicorn, gunicorn) has; every answer carries its Content-Length.
    protocol_version = "HTTP/1.1"
    # The head and the body are two writes: without TCP_NODELAY the second waits for the client's delayed ACK.
    disable_nagle_algorithm = True

    def send_json(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_html(self, status, html):
        body = html.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw or b"{}")

    def log_message(self, fmt, *args):
        if not QUIET:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def exit_on_sigterm():
    """PID 1 ignores SIGTERM unless a handler is installed: exit at once instead."""
    def stop(signum, _frame):
        sys.stderr.write("received signal %d, exiting\n" % signum)
        sys.stderr.flush()
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def serve(handler_cls, port, background=False):
    httpd = Server(("0.0.0.0", port), handler_cls)
    if background:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    else:
        httpd.serve_forever()
    return httpd
