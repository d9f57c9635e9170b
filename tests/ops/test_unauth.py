"""Unauthenticated work stays bounded, on the real engine.

GET /v1/health needs no credential and goes frontd -> privd -> sockproxy ->
dockerd: a flood of it must become at most one health check a second there
(frontd answers from its last for 1 s, one refresh out at a time; privd asks
sockproxy one at a time), and an execution during the flood is answered in
about its usual time. Connections cost a thread each: one address holds at
most 64 of the 256, a connection that sends no request is closed after 10 s,
and only one that authenticated is kept idle longer; so 256 idle
connections from one address leave another address (LibreChat's) served."""
import http.client
import multiprocessing
import socket
import threading
import time

from cwtest import Appliance, check
from opslib import main_then_stop, scrape

FLOOD_ADDR = "127.0.0.2"	# the flood; the appliance's own requests come from 127.0.0.1
FLOOD_ADDRS = ("127.0.0.2", "127.0.0.3")	# 48 clients each, under the per-address limit
app = None


def setup():
    global app
    if app is None:
        # a warm pool deep enough that no run of the test waits for a create
        app = Appliance([("concurrency", "pool", "4")], name="unauth").start()
    return app


def health_checks():
    return scrape(setup().port, setup().key).get("codeward_health_checks_total")


def timed_exec(a):
    t = time.monotonic()
    j = a.exec("bash", "echo hi")
    check(j["stdout"] == "hi\n", "exec answer %r" % j)
    return time.monotonic() - t


def flood_one(port, addr, stop, sent, ok):
    c = None
    while not stop.is_set():
        try:
            if c is None:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                               source_address=(addr, 0))
            c.request("GET", "/v1/health")
            r = c.getresponse()
            r.read()
            st = r.status
        except (OSError, http.client.HTTPException):
            st = 0
            c.close()
            c = None
        with sent.get_lock():
            sent.value += 1
        if st == 200:
            with ok.get_lock():
                ok.value += 1
        time.sleep(0.05)	# rapid, not a CPU hog on a small shared test machine
    if c is not None:
        c.close()


def flood(port, stop, sent, ok):
    """96 clients on keep-alive connections, more than sockproxy's 64
    connections, in a process of its own (the timing of this one's
    executions must not wait for their GIL)"""
    threads = [threading.Thread(target=flood_one, args=(port, addr, stop, sent, ok))
               for addr in FLOOD_ADDRS for _ in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def runs(a):
    """three executions, each given time to find its pooled sandbox"""
    out = []
    for _ in range(3):
        time.sleep(2)
        out.append(timed_exec(a))
    return out


def test_health_flood_is_one_check_a_second():
    a = setup()
    usual = sorted(runs(a))[1]	# the median: the machine is shared
    before = health_checks()
    ctx = multiprocessing.get_context("fork")
    stop, sent, ok = ctx.Event(), ctx.Value("l", 0), ctx.Value("l", 0)
    p = ctx.Process(target=flood, args=(a.port, stop, sent, ok))
    t0 = time.monotonic()
    p.start()
    try:
        during = runs(a)
        while sent.value < 500 and time.monotonic() - t0 < 20:
            time.sleep(0.1)
    finally:
        stop.set()
        p.join()
    took = time.monotonic() - t0
    checks = health_checks() - before
    print("flood: %d health requests (%d answered 200) in %.1f s; %d health checks; "
          "exec usual %.2f s, during %r" % (sent.value, ok.value, took, checks, usual, during))
    check(sent.value >= 500, "the flood sent only %d" % sent.value)
    check(ok.value >= sent.value // 2, "health answered 200 %d of %d" % (ok.value, sent.value))
    # one a second, one out at a time, and this test's own scrapes
    check(checks <= took + 3, "%d health checks for %d requests in %.1f s" % (checks, sent.value, took))
    check(sorted(during)[1] <= usual + 1.0,
          "exec took %r during the flood, %.2f s before" % (during, usual))


def idle_conns(n, addr):
    out = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        s.bind((addr, 0))
        try:
            s.connect(("127.0.0.1", setup().port))
        except OSError:
            s.close()
            continue
        out.append(s)
    return out


def closed(s):
    try:
        s.settimeout(0.05)
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def test_idle_connections_leave_another_address_served():
    a = setup()
    socks = idle_conns(256, FLOOD_ADDR)
    try:
        time.sleep(0.5)
        open_ = [s for s in socks if not closed(s)]
        check(len(open_) <= 64, "%d idle connections of one address held" % len(open_))
        t = time.monotonic()
        st, j = a.request("GET", "/v1/health", auth=False)
        check(st == 200, "health from another address: %s %r" % (st, j))
        check(timed_exec(a) < 10, "exec")
        check(time.monotonic() - t < 10, "served late")
        # a connection that sends nothing is closed after 10 s
        time.sleep(11)
        left = [s for s in open_ if not closed(s)]
        check(not left, "%d idle connections still open after 11 s" % len(left))
    finally:
        for s in socks:
            s.close()


def test_the_policy_sets_the_limits():
    with Appliance([("concurrency", "connections", "32"),
                    ("concurrency", "connections-per-address", "8"),
                    ("concurrency", "header-timeout", "2s")], name="unauth-policy") as b:
        socks = []
        try:
            for _ in range(20):
                s = socket.socket()
                s.bind((FLOOD_ADDR, 0))
                s.connect(("127.0.0.1", b.port))
                socks.append(s)
            time.sleep(0.5)
            open_ = [s for s in socks if not closed(s)]
            check(len(open_) == 8, "%d connections of one address held, not 8" % len(open_))
            st, _ = b.request("GET", "/v1/health", auth=False)
            check(st == 200, "health from another address: %s" % st)
            time.sleep(3)
            check(all(closed(s) for s in open_), "silent connections open after 3 s")
        finally:
            for s in socks:
                s.close()


def test_authenticated_connection_is_kept():
    a = setup()
    c = a.conn(timeout=30)
    st, _ = a.request("GET", "/v1/files/" + "A" * 21, conn=c)
    check(st in (200, 404), "list: %s" % st)
    time.sleep(12)
    st, _ = a.request("GET", "/v1/files/" + "A" * 21, conn=c)
    check(st in (200, 404), "after 12 s idle: %s" % st)
    c.close()


if __name__ == "__main__":
    main_then_stop(globals(), lambda: app)
