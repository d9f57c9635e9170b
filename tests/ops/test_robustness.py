"""Hostile traffic while a normal execution runs, on the real engine (issue
14: "200 malformed requests, 256 idle connections, and a flood of health
requests: no daemon restarts, each malformed one a 4xx JSON error, and a
normal execution answered within 1 s of its usual time during each").

Each disturbance runs in a process of its own while three executions are
timed; their median must stay within 1 s of the median measured first on
the same appliance. The daemons' pids must not change and all must live.
The malformed requests are tests/ops/malformed.py's: every one answered 4xx
with a JSON body carrying "error" -- except a header larger than
libmicrohttpd's connection buffer, which libmicrohttpd itself answers 431
with its own HTML before frontd sees the request (README.md, "Refused
requests")."""
import json
import multiprocessing
import os
import socket
import time

from cwhttp import raw_exchange
from cwtest import Appliance, check
from opslib import main_then_stop
import malformed
from test_unauth import flood

IDLE_ADDR = "127.0.0.2"
MHD_OWN = {"header 64 KiB"}	# answered by libmicrohttpd, 431 text/html
app = None


def setup():
    global app
    if app is None:
        # a warm pool deep enough that no timed run waits for a create
        app = Appliance([("concurrency", "pool", "4")], name="robust").start()
    return app


def daemons(a):
    pp = a.procs["privd"].pid
    with open("/proc/%d/task/%d/children" % (pp, pp)) as f:
        kids = [int(x) for x in f.read().split()]
    out = {"privd": pp, "sockproxy": a.procs["sockproxy"].pid}
    for k in kids:	# frontd, and the policy reader
        out["child:" + os.path.basename(os.readlink("/proc/%d/exe" % k))] = k
    check("child:codeward-frontd" in out, "no frontd among %r" % out)
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def timed_runs(a, n=3):
    out = []
    for _ in range(n):
        time.sleep(2)	# the pool refills between runs
        t = time.monotonic()
        j = a.exec("bash", "echo hi")
        check(j["stdout"] == "hi\n", "exec answer %r" % j)
        out.append(time.monotonic() - t)
    return out


def median(v):
    return sorted(v)[len(v) // 2]


USUAL = []


def usual(a):
    if not USUAL:
        USUAL.append(median(timed_runs(a)))
    return USUAL[0]


def during(a, target, args, what):
    """time runs while target(*args, stop) runs in a process of its own"""
    before = daemons(a)
    base = usual(a)
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    p = ctx.Process(target=target, args=args + (stop,))
    p.start()
    try:
        time.sleep(0.5)
        runs = timed_runs(a)
    finally:
        stop.set()
        p.join(120)
        if p.is_alive():
            p.kill()
    print("%s: exec usual %.2f s, during %s" % (what, base, ["%.2f" % x for x in runs]))
    check(median(runs) <= base + 1.0, "%s: exec took %r, usually %.2f s" % (what, runs, base))
    after = daemons(a)
    check(after == before, "%s: a daemon restarted: %r -> %r" % (what, before, after))
    check(all(alive(pid) for pid in after.values()), "%s: a daemon died" % what)
    return p.exitcode


def send_malformed(port, key, results, stop):
    """every malformed request once, and again until stopped; the first
    answer of each goes to results"""
    reqs = malformed.requests(key, BODY_MAX)
    first = True
    while first or not stop.is_set():
        for name, data in reqs:
            try:
                r = raw_exchange(port, data, timeout=60)
                ctype = r.header("Content-Type") or ""
                try:
                    body = json.loads(r.body)
                except ValueError:
                    body = None
                got = (r.status, ctype, isinstance(body, dict) and isinstance(body.get("error"), str))
            except (OSError, ValueError) as e:
                got = (0, repr(e)[:80], False)
            if first:
                results.put((name, got))
        first = False
    results.put(None)


BODY_MAX = 512 * 1024 * 6 + 256 * 1024	# exec_body_max() under the default policy


def test_malformed_requests():
    a = setup()
    results = multiprocessing.get_context("fork").Queue()
    during(a, send_malformed, (a.port, a.key, results), "malformed")
    got, wrong = [], []
    while True:
        x = results.get(timeout=60)
        if x is None:
            break
        got.append(x)
    for name, (status, ctype, has_error) in got:
        if name in MHD_OWN:
            if status != 431:
                wrong.append("%s: %d %s" % (name, status, ctype))
        elif not (400 <= status < 500 and ctype.startswith("application/json") and has_error):
            wrong.append("%s: %d %s error=%s" % (name, status, ctype, has_error))
    print("%d malformed requests, %d answered otherwise" % (len(got), len(wrong)))
    check(len(got) >= 200, "only %d malformed requests" % len(got))
    check(not wrong, "not a 4xx JSON error:\n  " + "\n  ".join(wrong))


def hold_idle(port, n, stop):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.bind((IDLE_ADDR, 0))
            s.connect(("127.0.0.1", port))
            socks.append(s)
        except OSError:
            s.close()
    stop.wait(120)
    for s in socks:
        s.close()
    os._exit(0 if len(socks) > 0 else 1)


def test_idle_connections():
    a = setup()
    check(during(a, hold_idle, (a.port, 256), "256 idle connections") == 0,
          "no idle connection could be opened")


def health_flood(port, stop):
    ctx = multiprocessing.get_context("fork")
    flood(port, stop, ctx.Value("l", 0), ctx.Value("l", 0))


def test_health_flood():
    a = setup()
    during(a, health_flood, (a.port,), "health flood")


if __name__ == "__main__":
    main_then_stop(globals(), lambda: app)
