"""Observability stand-in (Jaeger / Grafana / Prometheus): answers 200 on every given port.

STUB_NAME=jaeger STUB_PORTS=16686,4317,4318 python3 stub.py
"""
import os
import threading

from common import Handler, exit_on_sigterm, serve

NAME = os.environ.get("STUB_NAME", "stub")
PORTS = [int(p) for p in os.environ.get("STUB_PORTS", "8080").split(",") if p.strip()]


class StubHandler(Handler):
    def _reply(self):
        port = self.server.server_address[1]
        if self.command == "POST":  # e.g. OTLP/HTTP export: accept and discard
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
        if "html" in (self.headers.get("Accept") or "") and self.command != "POST":
            self.send_html(200, "<!doctype html><title>%s</title><h1>%s stand-in (port %d)</h1>\n"
                           % (NAME, NAME, port))
        else:
            self.send_json(200, {"service": NAME, "port": port, "path": self.path, "status": "ok"})

    do_GET = do_HEAD = do_POST = _reply


if __name__ == "__main__":
    exit_on_sigterm()
    for port in PORTS:
        serve(StubHandler, port, background=True)
    print("%s stand-in listening on %s" % (NAME, ", ".join(":%d" % p for p in PORTS)), flush=True)
    threading.Event().wait()
