"""Which sandboxes of an appliance ran code, read from the engine's own event
stream, so a test can demand that every one of them is gone after its run
while a warm pool's fresh, never-used sandboxes stay.

The engine keeps only its last 256 events, so the stream is followed live
from the appliance's start rather than asked for afterwards.
"""
import json
import socket
import sys
import threading
import time
from urllib.parse import quote

from cwtest import DOCKER_SOCK, check


class ExecWatch:
    """Follows the engine's events for one appliance instance; .used holds
    the ids of its containers that started an exec."""

    def __init__(self, instance):
        self.used = set()
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(DOCKER_SOCK)
        filt = json.dumps({"type": ["container"], "label": ["codeward.instance=" + instance]})
        self.sock.sendall(("GET /v1.41/events?filters=%s HTTP/1.1\r\nHost: docker\r\n\r\n"
                           % quote(filt, safe="")).encode())
        self.t = threading.Thread(target=self.read, daemon=True)
        self.t.start()

    def read(self):
        buf = b""
        body = None
        try:
            while True:
                b = self.sock.recv(65536)
                if not b:
                    return
                buf += b
                if body is None:
                    if b"\r\n\r\n" not in buf:
                        continue
                    _, buf = buf.split(b"\r\n\r\n", 1)
                    body = b""
                # chunked framing: size line, data, CRLF
                while True:
                    if b"\r\n" not in buf:
                        break
                    size_line, rest = buf.split(b"\r\n", 1)
                    n = int(size_line.split(b";")[0] or b"0", 16)
                    if len(rest) < n + 2:
                        break
                    body += rest[:n]
                    buf = rest[n + 2:]
                while b"\n" in body:
                    line, body = body.split(b"\n", 1)
                    self.event(line)
        except OSError:
            return

    def event(self, line):
        try:
            e = json.loads(line)
        except ValueError:
            return
        if str(e.get("Action", "")).startswith("exec_start"):
            with self.lock:
                self.used.add(e.get("id") or e.get("Actor", {}).get("ID"))

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def jail_settle(a, seconds=15):
    """under isolation jail: wait until every container of the appliance is
    a worker, within the pool's bound, with no process of an execution
    (cwtest's worker_report); fail naming what is wrong"""
    deadline = time.time() + seconds
    while True:
        bad = a.worker_report()
        if not bad or time.time() > deadline:
            break
        time.sleep(0.1)
    check(bad == {}, "left by the runs: %r" % bad)


def settle(a, watch, seconds=15):
    """Wait until no sandbox that ran code is left; fail naming any that is.
    A warm pool's sandboxes that never ran code may stay. Under isolation
    jail a worker serves many executions: no process of an execution may be
    left in any of them (tests/lib/workers.py)."""
    if a.isolation == "jail":
        jail_settle(a, seconds)
        return a.leftovers()
    time.sleep(0.2)        # the events of a just-answered run arrive
    deadline = time.time() + seconds
    while True:
        with watch.lock:
            used = set(watch.used)
        left = [c for c in a.leftovers() if c in used]
        if not left or time.time() > deadline:
            break
        time.sleep(0.05)
    check(left == [], "sandboxes that ran code are still there: %r" % left)
    return a.leftovers()


def stop_after_failure(a):
    """Stop an appliance a failed test left running: everything it left is
    removed (cwtest's stop does that, then raises, which is only reported)."""
    try:
        a.stop()
    except Exception as e:
        sys.stderr.write("stop: %s\n" % e)
