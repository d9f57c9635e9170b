"""1,000 executions at concurrency 8 from 8 users, on the real engine, with
the default policy's limits (total 4, per-user 2: half of the callers wait
in the admission queue at any time).

Every answer must be 200 with the expected stdout (no 429, no 5xx, no cut
connection), and each daemon's resident memory (sockproxy, privd, frontd:
VmRSS, read once the appliance is idle again) at the end within 10% of its
value after a 100-execution warm-up.
The time, the throughput and the latency percentiles are printed."""
import http.client
import json
import os
import threading
import time

from cwtest import Appliance, check
from opslib import main_then_stop, scrape, wait_for

RUNS = int(os.environ.get("CODEWARD_LOAD_RUNS", "1000"))
WARMUP = 100
CLIENTS = 8
RSS_SLACK = 0.10
app = None


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, split after ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(d))
    return out


def daemons(a):
    privd = a.procs["privd"].pid
    # privd's children: frontd (exec'd) and the policy reader (a fork of privd)
    kids = [k for k in children(privd)
            if os.path.basename(os.readlink("/proc/%d/exe" % k)) == "codeward-frontd"]
    check(len(kids) == 1, "privd's children %r: one frontd expected" % kids)
    return {"sockproxy": a.procs["sockproxy"].pid, "privd": privd, "frontd": kids[0]}


def job(i):
    """the i-th execution: a Python print, every fifth a bash echo"""
    if i % 5 == 4:
        return "bash", "echo run-%d" % i, "run-%d\n" % i
    return "py", "print('run-%d')" % i, "run-%d\n" % i


def client(a, user, indices, errors, latencies, lock):
    c = None
    for i in indices:
        lang, code, want = job(i)
        body = json.dumps({"lang": lang, "code": code, "user_id": user}).encode()
        t0 = time.monotonic()
        try:
            if c is None:
                c = a.conn(180)
            c.request("POST", "/v1/exec", body=body, headers={
                "X-API-Key": a.key, "Content-Type": "application/json"})
            r = c.getresponse()
            payload = r.read()
            st = r.status
        except (OSError, http.client.HTTPException) as e:
            st, payload = 0, repr(e).encode()
            c.close()
            c = None
        took = time.monotonic() - t0
        ok = False
        if st == 200:
            try:
                j = json.loads(payload)
                ok = j.get("stdout") == want and "error" not in j
            except ValueError:
                pass
        with lock:
            latencies.append(took)
            if not ok:
                errors.append((i, user, st, payload[:300]))
    if c is not None:
        c.close()


def batch(a, first, n):
    errors, latencies, lock = [], [], threading.Lock()
    per = [list(range(first + k, first + n, CLIENTS)) for k in range(CLIENTS)]
    threads = [threading.Thread(target=client, args=(a, "load-user-%d" % k, per[k],
                                                      errors, latencies, lock))
               for k in range(CLIENTS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors, sorted(latencies), time.monotonic() - t0


def settled_rss(a, pids):
    """each daemon's VmRSS once the appliance is idle again (no run, every
    sandbox idle in the pool, and under container the pool refilled: the
    removals and refills after the last answer are done; under jail the
    workers a run leaves idle stay), the median of five readings 0.2 s
    apart"""
    def idle():
        s = scrape(a.port, a.key)
        ready = s.get("codeward_pool_ready")
        return (s.get("codeward_executions_running") == 0 and
                ready == s.get("codeward_sandboxes_active") and
                (a.isolation == "jail" or ready == s.get("codeward_pool_capacity")))
    wait_for("the appliance idle", idle, 60, 0.2)
    time.sleep(0.5)
    reads = []
    for _ in range(5):
        reads.append({name: rss_kb(pid) for name, pid in pids.items()})
        time.sleep(0.2)
    return {name: sorted(r[name] for r in reads)[2] for name in pids}


def test_thousand_executions_no_errors_bounded_memory():
    global app
    app = Appliance(name="load").start()
    a = app
    errors, _, took = batch(a, 0, WARMUP)
    check(not errors, "warm-up errors: %r" % errors[:5])
    pids = daemons(a)
    base = settled_rss(a, pids)
    print("after %d warm-up runs (%.1fs): RSS %s" % (WARMUP, took, base), flush=True)
    errors, lat, took = batch(a, WARMUP, RUNS)
    end = settled_rss(a, pids)
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print("%d runs in %.1fs (%.2f/s); latency p50 %.2fs p90 %.2fs p99 %.2fs max %.2fs"
          % (RUNS, took, RUNS / took, pct(0.5), pct(0.9), pct(0.99), lat[-1]), flush=True)
    print("RSS at the end %s" % end, flush=True)
    check(not errors, "%d unexpected answers, e.g. %r" % (len(errors), errors[:5]))
    for name in pids:
        check(end[name] <= base[name] * (1 + RSS_SLACK),
              "%s RSS %d kB after %d runs, %d kB after the warm-up (over 10%%)"
              % (name, end[name], RUNS, base[name]))


if __name__ == "__main__":
    main_then_stop(globals(), lambda: app)
