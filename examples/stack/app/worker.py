"""KTRDR-shaped worker stand-in: /health on :5000 and a registration heartbeat every 2 s."""
import json
import os
import threading
import time
import urllib.request

from common import Handler, exit_on_sigterm, serve

WORKER_ID = os.environ["WORKER_ID"]
WORKER_TYPE = os.environ["WORKER_TYPE"]  # "backtest" or "training"
PORT = int(os.environ.get("WORKER_PORT", "5000"))
WORKER_URL = os.environ.get("WORKER_URL", "http://%s:%d" % (os.uname().nodename, PORT))
BACKEND_URL = os.environ.get("BACKEND_URL", "http://backend:8000").rstrip("/")
INTERVAL = float(os.environ.get("HEARTBEAT_SECONDS", "2"))


class WorkerHandler(Handler):
    def do_GET(self):
        if self.path.split("?", 1)[0].rstrip("/") == "/health":
            self.send_json(200, {"status": "ok", "id": WORKER_ID, "type": WORKER_TYPE})
        else:
            self.send_json(404, {"error": "not found"})

    do_HEAD = do_GET


def heartbeat():
    body = json.dumps({"id": WORKER_ID, "type": WORKER_TYPE, "url": WORKER_URL}).encode()
    ok = None  # log only state changes, not every beat
    while True:
        try:
            req = urllib.request.Request(BACKEND_URL + "/api/v1/workers/register", data=body,
                                         headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(req, timeout=3) as resp:
                resp.read()
            if ok is not True:
                print("registered with %s" % BACKEND_URL, flush=True)
            ok = True
        except Exception as exc:
            if ok is not False:
                print("registration failed (will retry every %gs): %s" % (INTERVAL, exc), flush=True)
            ok = False
        time.sleep(INTERVAL)


if __name__ == "__main__":
    exit_on_sigterm()
    print("%s worker %s listening on :%d" % (WORKER_TYPE, WORKER_ID, PORT), flush=True)
    serve(WorkerHandler, PORT, background=True)
    heartbeat()
