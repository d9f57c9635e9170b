"""privd's view of its sandboxes equals the engine's after sockproxy or the
engine changed under it, on the real engine.

- sockproxy killed (SIGKILL) with 8 executions in flight, a new one started
  on the same socket: every in-flight request is answered (a JSON error or a
  success), health is 200 within 2 s of the new sockproxy's start, the next
  20 executions of python and bash all succeed, no sandbox of the instance
  is left "exited", and codeward_sandboxes_active equals the instance's
  containers (the new sockproxy's generation makes privd resync).
- privd killed (SIGKILL) with 8 executions in flight and started again:
  health is 200 within 2 s of its start, its ~12 leftovers are swept in
  the background, the runs after it succeed.
- the engine gone for sockproxy (a relay to it cut) with 8 executions in
  flight, every sandbox stopped meanwhile, and back: every request answered,
  health 200 within 2 s, privd resyncs (stopped ones removed, removals that
  failed during the outage retried), the runs after it succeed.
- privd started again while the engine is away for sockproxy: it sweeps
  the old privd's leftovers at its first resync, once the engine answers.
- every pooled sandbox stopped by the engine (POST /containers/ID/stop, as in
  the engine's own shutdown): the next executions succeed (a stale pooled
  sandbox is replaced once by a fresh one, and privd resyncs), the stopped
  ones are removed, the live count is right; a kept session's sandbox
  stopped the same way: the session's next call starts anew and succeeds.
"""
import json
import os
import signal
import socket
import subprocess
import threading
import time

import cwtest
from cwtest import DOCKER_SOCK, Appliance, _q, check, docker_api, main, port_open
from opslib import daemon_log, scrape, wait_for

OVERRIDES = [("concurrency", "total", "8"), ("concurrency", "per-user", "2"),
             ("concurrency", "pool", "2")]
SLEEP_PY = "import time\ntime.sleep(2)\nprint('slept')\n"


def states(instance):
    """{id: State} of the instance's containers, as the engine says"""
    filt = json.dumps({"label": ["codeward.instance=" + instance]})
    st, raw = docker_api("GET", "/v1.41/containers/json?all=1&filters=" + _q(filt))
    check(st == 200, "container list: %d" % st)
    return {c["Id"]: c["State"] for c in json.loads(raw)}


def active(a):
    return scrape(a.port, a.key).get("codeward_sandboxes_active")


def live_count_right(a):
    """codeward_sandboxes_active equals the instance's containers (5 s)"""
    seen = []

    def equal():
        n, want = active(a), len(states(a.instance))
        seen[:] = [n, want]
        return n == want
    deadline = time.time() + 5
    while not equal():
        check(time.time() < deadline, "codeward_sandboxes_active %r, containers %r:\n%s"
              % (seen[0], seen[1], daemon_log(a, "privd")[-3000:]))
        time.sleep(0.2)


def none_exited(a):
    """no container of the instance left stopped (5 s)"""
    deadline = time.time() + 5
    while True:
        left = {k[:12]: v for k, v in states(a.instance).items() if v != "running"}
        if not left:
            return
        check(time.time() < deadline, "containers not running: %r" % left)
        time.sleep(0.2)


def in_flight(a, n):
    """n python executions that sleep 2 s, from n users; their answers"""
    out = [None] * n

    def go(i):
        try:
            st, body, _ = a.request("POST", "/v1/exec",
                                    {"lang": "py", "code": SLEEP_PY, "user_id": "user%d" % i},
                                    raw=True)
            out[i] = (st, body)
        except Exception as e:
            out[i] = ("error", repr(e))
    ts = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    return ts, out


def each_answered(ts, out):
    for t in ts:
        t.join(120)
    for i, o in enumerate(out):
        check(o is not None and o[0] != "error", "request %d not answered: %r" % (i, o))
        st, body = o
        try:
            j = json.loads(body)
        except ValueError:
            j = None
        check(isinstance(j, dict), "request %d answered %d without JSON: %r" % (i, st, body[:200]))
        # a success, or an error as JSON (in a 200 when the answer was
        # committed to 200 before the failure: past 3 s of keep-alive)
        check((st == 200 and ("stdout" in j or "error" in j)) or (st >= 500 and "error" in j),
              "request %d answered %d: %r" % (i, st, j))


def runs_succeed(a, n):
    """n executions, python and bash in turn, each a success"""
    for i in range(n):
        lang, code = ("py", "print(6*7)") if i % 2 == 0 else ("bash", "echo $((6*7))")
        st, j = a.request("POST", "/v1/exec", {"lang": lang, "code": code})
        check(st == 200 and j.get("stdout") == "42\n",
              "run %d (%s) after the restart: %d %r" % (i, lang, st, j))


def healthy_within(a, t0, secs, since):
    """GET /v1/health 200 within secs of t0 (monotonic): how long it took"""
    while True:
        try:
            st, _ = a.request("GET", "/v1/health", auth=False)
        except OSError:
            st = None
        if st == 200:
            return time.monotonic() - t0
        check(time.monotonic() - t0 < secs, "health not 200 within %g s of %s" % (secs, since))
        time.sleep(0.05)


def eight_in_flight(a):
    """8 python runs sleeping in their sandboxes: (threads, answers)"""
    wait_for("the pool filled", lambda: len(states(a.instance)) >= 2, 60)
    ts, out = in_flight(a, 8)
    wait_for("8 runs in their sandboxes",
             lambda: sum(1 for v in states(a.instance).values() if v == "running") >= 8, 30)
    time.sleep(0.8)     # the programs started (they sleep 2 s)
    return ts, out


def test_sockproxy_killed_with_8_in_flight():
    with Appliance(OVERRIDES, name="resync-proxy") as a:
        ts, out = eight_in_flight(a)
        argv = a.procs["sockproxy"].args
        a.procs["sockproxy"].send_signal(signal.SIGKILL)
        a.procs["sockproxy"].wait(10)
        a.procs["sockproxy"] = subprocess.Popen(argv, stdout=a.logs["sockproxy"],
                                                stderr=subprocess.STDOUT)
        took = healthy_within(a, time.monotonic(), 2.0, "the new sockproxy's start")
        each_answered(ts, out)
        runs_succeed(a, 20)
        none_exited(a)
        live_count_right(a)
        log = daemon_log(a, "privd")
        check("resync: pool dropped" in log, "no resync line:\n" + log[-3000:])
        s = scrape(a.port, a.key)
        if s.has("codeward_sandbox_resyncs_total"):
            check(s.get("codeward_sandbox_resyncs_total") >= 1, "resync counter")
        print("health 200 %.2f s after the new sockproxy started" % took)


def test_privd_killed_with_8_in_flight():
    # frontd goes with privd (its clients' connections with it); a new privd
    # answers health at once and sweeps the ~12 sandboxes left meanwhile
    with Appliance(OVERRIDES, name="resync-privd") as a:
        ts, out = eight_in_flight(a)
        left = len(states(a.instance))
        argv = a.procs["privd"].args
        a.procs["privd"].send_signal(signal.SIGKILL)
        a.procs["privd"].wait(10)
        for t in ts:
            t.join(30)
        wait_for("frontd gone", lambda: not port_open(a.port), 10)
        a.procs["privd"] = subprocess.Popen(argv, stdout=a.logs["privd"], stderr=subprocess.STDOUT)
        took = healthy_within(a, time.monotonic(), 2.0, "the new privd's start")
        wait_for("the %d leftovers swept" % left,
                 lambda: active(a) == len(states(a.instance)) and
                 "resync_sweep: %d leftover(s) handled" % left in daemon_log(a, "privd"), 30)
        runs_succeed(a, 4)
        none_exited(a)
        live_count_right(a)
        print("health 200 %.2f s after the new privd started, %d leftovers" % (took, left))


def test_engine_stopped_the_pooled_sandboxes():
    with Appliance(OVERRIDES, name="resync-stop") as a:
        # both pools full: a plain one (bash) and a pre-warmed one (python);
        # under jail one pool of workers (a worker serves every language)
        full = 2 if a.isolation == "jail" else 4
        wait_for("the pools filled", lambda: len(states(a.instance)) >= full, 90)
        time.sleep(0.5)
        pooled = list(states(a.instance))
        for cid in pooled:
            st, raw = docker_api("POST", "/v1.41/containers/%s/stop?t=0" % cid)
            check(st in (204, 304), "stop %s: %d %r" % (cid[:12], st, raw))
        check(all(v == "exited" for k, v in states(a.instance).items() if k in pooled),
              "the engine stopped them")
        for lang, code in (("py", "print(6*7)"), ("bash", "echo $((6*7))")) * 3:
            st, j = a.request("POST", "/v1/exec", {"lang": lang, "code": code})
            check(st == 200 and j.get("stdout") == "42\n",
                  "%s after the stop: %d %r\n%s" % (lang, st, j, daemon_log(a, "privd")[-3000:]))
        wait_for("the stopped sandboxes removed",
                 lambda: not (set(pooled) & set(states(a.instance))), 10)
        none_exited(a)
        live_count_right(a)
        check("is stale" in daemon_log(a, "privd"), "no stale line")


class Relay:
    """The engine's socket as sockproxy sees it: a relay to dockerd that can
    go away (its socket gone, every connection through it cut: the engine
    down, as far as sockproxy can tell) and come back, without touching the
    engine others share."""

    def __init__(self, path):
        self.path, self.conns, self.lock, self.ls = path, [], threading.Lock(), None
        self.up()

    def up(self):
        ls = socket.socket(socket.AF_UNIX)
        ls.bind(self.path)
        os.chown(self.path, -1, os.stat(DOCKER_SOCK).st_gid)   # the engine's group
        os.chmod(self.path, 0o660)
        ls.listen(128)
        self.ls = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def _accept(self, ls):
        while True:
            try:
                c, _ = ls.accept()
                u = socket.socket(socket.AF_UNIX)
                u.connect(DOCKER_SOCK)
            except OSError:
                if ls.fileno() < 0:
                    return
                continue
            with self.lock:
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    b.shutdown(socket.SHUT_WR)
                    return
                b.sendall(d)
        except OSError:
            pass

    def down(self):
        self.ls.shutdown(socket.SHUT_RDWR)
        self.ls.close()
        os.unlink(self.path)
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def test_engine_outage_with_8_in_flight():
    # sockproxy finds the engine gone (through a relay: the shared engine
    # itself stays up), the engine stops every sandbox meanwhile, and comes
    # back: privd resyncs on the first answer after the outage
    a = Appliance(OVERRIDES, name="resync-outage")
    relay = Relay(os.path.join(a.dir, "engine.sock"))
    cwtest.DOCKER_SOCK = relay.path     # the upstream Appliance.start gives sockproxy
    try:
        with a:
            cwtest.DOCKER_SOCK = DOCKER_SOCK
            outage_and_back(a, relay)
    finally:
        cwtest.DOCKER_SOCK = DOCKER_SOCK


def test_privd_started_while_the_engine_is_away():
    # the new privd cannot list the old one's leftovers at its start: it
    # sweeps them at its first resync, once the engine answers
    a = Appliance(OVERRIDES, name="resync-late")
    relay = Relay(os.path.join(a.dir, "engine.sock"))
    cwtest.DOCKER_SOCK = relay.path
    try:
        with a:
            cwtest.DOCKER_SOCK = DOCKER_SOCK
            ts, _ = in_flight(a, 2)
            wait_for("2 runs in their sandboxes",
                     lambda: sum(1 for v in states(a.instance).values() if v == "running") >= 2, 30)
            time.sleep(0.8)
            argv = a.procs["privd"].args
            a.procs["privd"].send_signal(signal.SIGKILL)
            a.procs["privd"].wait(10)
            wait_for("frontd gone", lambda: not port_open(a.port), 10)
            orphans = set(states(a.instance))
            relay.down()
            a.procs["privd"] = subprocess.Popen(argv, stdout=a.logs["privd"],
                                                stderr=subprocess.STDOUT)
            wait_for("the failed start-up list",
                     lambda: "swept at the first resync" in daemon_log(a, "privd"), 10, 0.05)
            relay.up()
            healthy_within(a, time.monotonic(), 2.0, "the engine answering again")
            wait_for("the orphans swept", lambda: not (orphans & set(states(a.instance))), 30)
            log = daemon_log(a, "privd")
            check(all("resync_sweep: removed leftover sandbox %s" % c[:12] in log
                      for c in orphans), "no sweep line:\n" + log[-3000:])
            runs_succeed(a, 2)
            live_count_right(a)
    finally:
        cwtest.DOCKER_SOCK = DOCKER_SOCK


def outage_and_back(a, relay):
    """8 runs in flight, the engine gone and every sandbox stopped, then back"""
    ts, out = eight_in_flight(a)
    relay.down()
    for cid in states(a.instance):
        docker_api("POST", "/v1.41/containers/%s/stop?t=0" % cid)
    each_answered(ts, out)
    time.sleep(1)       # removals fail meanwhile: retried, never forgotten
    relay.up()
    took = healthy_within(a, time.monotonic(), 2.0, "the engine answering again")
    runs_succeed(a, 8)
    none_exited(a)
    live_count_right(a)
    log = daemon_log(a, "privd")
    check("answer again" in log and "resync: pool dropped" in log, "no resync:\n" + log[-3000:])
    print("health 200 %.2f s after the engine came back" % took)


def test_engine_stopped_a_session_sandbox():
    # a kept session's sandbox stopped under it: its next call starts anew
    # (its files went with the sandbox) instead of failing
    with Appliance(OVERRIDES + [("concurrency", "sessions", "2")], name="resync-session") as a:
        body = {"lang": "bash", "code": "echo one > a.txt", "user_id": "u1",
                "runtime_session_hint": "conv-stop"}
        hdr = {"X-CodeAPI-Expected-Profile": "stateful"}
        st, j = a.request("POST", "/v1/exec", body, headers=hdr)
        check(st == 200 and j["runtime_status"] == "new", "first call: %d %r" % (st, j))
        before = set(states(a.instance))
        time.sleep(0.5)
        st, j = a.request("POST", "/v1/exec", dict(body, code="cat a.txt"), headers=hdr)
        check(st == 200 and j["runtime_status"] == "reused" and j["stdout"] == "one\n",
              "second call: %d %r" % (st, j))
        time.sleep(2)       # the reset after the call, then the sandbox is kept
        kept = [c for c in before if c in states(a.instance)]
        for cid in kept:
            docker_api("POST", "/v1.41/containers/%s/stop?t=0" % cid)
        st, j = a.request("POST", "/v1/exec", dict(body, code="ls a.txt 2>/dev/null; echo ran"),
                          headers=hdr)
        check(st == 200 and j["stdout"] == "ran\n" and j["runtime_status"] == "new",
              "the call after the stop: %d %r\n%s" % (st, j, daemon_log(a, "privd")[-3000:]))
        check(("the session's worker" if a.isolation == "jail" else "the session's sandbox")
              in daemon_log(a, "privd"), "no stale session line")
        none_exited(a)
        live_count_right(a)


if __name__ == "__main__":
    main(globals())
