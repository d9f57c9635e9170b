#!/usr/bin/env python3
"""codeward benchmarks, as ratios to the floor measured in the same run.

The floor is a raw Docker Engine API exec into an already-running container
of the same image (exec create, exec start reading the whole stream, exec
inspect), with no codeward in the path. Each sample through codeward's HTTP
API is paired with a floor sample taken under the same conditions (the same
pause before it, the same settled machine), since an exec after a pause
costs 20-30 ms more than one right after another on both paths:

  warm      print(1) in a stateful session's sandbox (started and used before,
            as the floor's container is)
  fresh     a fresh sandbox per execution, taken from the warm pool once it
            is full and settled
  numpy     a numpy+pandas snippet, fresh sandbox (the floor imports each time)
  throughput  print(1) sent back to back, as users load it: from 1 client
            (-b runs) and from 4 clients at once, each a user of its own
            (-b/2 runs each); each run overlaps the removal and refill of the
            ones before it. The floor runs the same loops at the same
            concurrency: 1 and 4 raw exec loops, each into its own
            already-running container (4 users would have 4). Reported as
            executions a second and p50/p90 latency, with the ratio of
            throughputs (codeward's over the floor's) and of p90s.

and the resident memory (VmRSS) of the three daemons after all of it.
The appliance runs the shipped policy (policy/default.policy, or the file
$CODEWARD_POLICY_TEMPLATE names) with three overrides: pool 4, prewarm py
and sessions 2 (the shipped pool and prewarm, stated here so the bench does
not move when the default does). Benchmarks are never timed tests: this
prints numbers, it does not pass or fail on them.

Under --isolation jail (default: what the shipped policy says) a "fresh
sandbox" is a fresh jail on a pooled worker (the pool keeps 'pool' workers,
not two pools of containers), and the appliance's workers run this tree's
agent (cwtest.worker_image).

  usage: bench/bench.py [-n ITERATIONS] [-b RUNS] [--only SECTION,...]
                        [--isolation jail|container]
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import cwtest  # noqa: E402
from cwtest import Appliance, docker_api, sandbox_image_id  # noqa: E402

PRINT1 = "print(1)"
NUMPY = ("import numpy as np, pandas as pd\n"
         "df = pd.DataFrame(np.arange(12).reshape(3, 4))\n"
         "print(int(df.sum().sum()))")


def floor_container():
    body = {
        "Image": sandbox_image_id(), "Cmd": ["sleep", "infinity"], "User": "10001:10001",
        "WorkingDir": "/mnt/data", "Labels": {"codeward.bench": "floor"},
        "HostConfig": {"NetworkMode": "none", "CapDrop": ["ALL"], "ReadonlyRootfs": True,
                       "Init": True, "Memory": 512 << 20, "MemorySwap": 512 << 20,
                       "NanoCpus": 10 ** 9, "PidsLimit": 128,
                       "SecurityOpt": ["no-new-privileges"],
                       "Tmpfs": {"/tmp": "rw,exec,nosuid,nodev,size=64m"}},
    }
    st, raw = docker_api("POST", "/v1.41/containers/create", body)
    assert st == 201, raw
    cid = json.loads(raw)["Id"]
    st, raw = docker_api("POST", "/v1.41/containers/%s/start" % cid)
    assert st == 204, raw
    return cid


def floor_exec(cid, code):
    t0 = time.perf_counter()
    st, raw = docker_api("POST", "/v1.41/containers/%s/exec" % cid,
                         {"Cmd": ["python3", "-c", code], "AttachStdout": True, "AttachStderr": True})
    xid = json.loads(raw)["Id"]
    st, out = docker_api("POST", "/v1.41/exec/%s/start" % xid, {"Detach": False, "Tty": False})
    st, raw = docker_api("GET", "/v1.41/exec/%s/json" % xid)
    assert json.loads(raw)["ExitCode"] == 0, out
    return time.perf_counter() - t0


def daemon_pids(app):
    """{pid: comm} of the three daemons and their policy readers: frontd
    is privd's child, each reader its daemon's (any thread's)"""
    pids = [p.pid for p in app.procs.values() if p.poll() is None]
    for pid in list(pids):
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                pids += [int(k) for k in open("/proc/%d/task/%s/children" % (pid, tid)).read().split()]
        except OSError:
            pass
    out = {}
    for pid in pids:
        try:
            out[pid] = open("/proc/%d/comm" % pid).read().strip()
        except OSError:
            pass
    return out


def daemons_rss(app):
    """VmRSS in kB: (the three daemons' sum, theirs by name, the policy
    readers' by name)"""
    total, detail, readers = 0, {}, {}
    for pid, name in daemon_pids(app).items():
        try:
            status = open("/proc/%d/status" % pid).read()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                kb = int(line.split()[1])
                if name == "cw-policy-read":
                    readers["%s<-%d" % (name, pid)] = kb
                else:
                    detail[name] = kb
                    total += kb
    return total, detail, readers


def smaps_dump(app, path):
    """each daemon's smaps_rollup and its resident kB by mapping, into PATH
    (where the memory goes; CW_BENCH_SMAPS=PATH)"""
    pids = daemon_pids(app)
    with open(path, "w") as out:
        for pid, name in pids.items():
            try:
                rollup = open("/proc/%d/smaps_rollup" % pid).read()
                smaps = open("/proc/%d/smaps" % pid).read()
                threads = len(os.listdir("/proc/%d/task" % pid))
            except OSError:
                continue
            out.write("=== %s pid %d, %d threads\n%s" % (name, pid, threads, rollup))
            by = {}
            head = None
            for line in smaps.splitlines():
                f = line.split()
                if "-" in f[0] and not f[0].endswith(":"):
                    head = "%s %s %s" % (f[0], f[1], f[5] if len(f) > 5 else "[anon]")
                elif f[0] in ("Rss:", "Anonymous:", "Private_Dirty:") and head:
                    by.setdefault(head, {})[f[0]] = int(f[1])
            for head, v in sorted(by.items(), key=lambda kv: -kv[1].get("Rss:", 0)):
                if v.get("Rss:", 0):
                    out.write("  %5d rss %5d anon %5d dirty  %s\n" % (
                        v.get("Rss:", 0), v.get("Anonymous:", 0), v.get("Private_Dirty:", 0), head))


def wait_pool(app, want, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(app.leftovers()) >= want:
            return
        time.sleep(0.05)


def summary(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[int(len(xs) * 0.9) - 1] if len(xs) >= 10 else xs[-1]


def clients(loops):
    """Run each loop (a function returning its list of latencies) in a
    thread of its own, all started together; returns (wall seconds, every
    latency)."""
    out = [None] * len(loops)
    errs = []

    def run(i):
        try:
            out[i] = loops[i]()
        except Exception as e:  # noqa: BLE001 -- re-raised below
            errs.append(e)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(loops))]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errs:
        raise errs[0]
    return wall, [x for xs in out for x in xs]


SECTIONS = ("fresh", "numpy", "warm", "throughput")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20, help="samples per paired section")
    ap.add_argument("-b", type=int, default=40,
                    help="back-to-back runs from 1 client; half of it from each of 4")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help="comma-separated sections of " + ",".join(SECTIONS))
    ap.add_argument("--isolation", choices=("jail", "container"),
                    default=cwtest.policy_get(cwtest.template_text(), "sandbox", "isolation"),
                    help="the policy's isolation (default: the shipped policy's)")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if not only <= set(SECTIONS):
        ap.error("--only: sections are " + ",".join(SECTIONS))
    cwtest.require_docker()

    # Each codeward sample is paired with a floor sample taken under the same
    # conditions: the same idle gap before it (an exec after a pause costs
    # 20-30 ms more than one right after another, on both paths) and, for
    # fresh sandboxes, the same settled pool.
    cids = [floor_container() for _ in range(4 if "throughput" in only else 1)]
    cid = cids[0]
    pool = 4
    rows, tput = [], []
    try:
        for c in cids:
            for _ in range(3):
                floor_exec(c, PRINT1)
        # plain and pre-warmed Python sandboxes: two pools
        with Appliance(overrides=[("concurrency", "pool", str(pool)),
                                  ("concurrency", "prewarm", "py"),
                                  ("concurrency", "sessions", "2")], name="bench",
                       isolation=args.isolation) as app:
            conn = app.conn()
            print("isolation %s" % args.isolation, flush=True)

            def settle():
                # the warm pool's condition: full, and its background work
                # done (the previous sandbox removed, the refill started and
                # its interpreter finished importing); under jail 'pool'
                # workers, each serving one run after another
                wait_pool(app, pool if args.isolation == "jail" else 2 * pool)
                time.sleep(2.5)

            def run(code, conn=conn, user=None):
                body = {"lang": "py", "code": code}
                if user:
                    body["user_id"] = user
                t0 = time.perf_counter()
                st, j = app.request("POST", "/v1/exec", body, conn=conn)
                dt = time.perf_counter() - t0
                assert st == 200 and j["stdout"].strip(), j
                return dt

            def one(code):
                settle()
                return run(code)

            def pair(code, n):
                ours, floor = [], []
                for _ in range(n):
                    ours.append(one(code))
                    settle()
                    floor.append(floor_exec(cid, code))
                return ours, floor

            def row(name, ours, floor, target):
                fm, fp = summary(floor)
                om, op = summary(ours)
                rows.append((name, om, op, om / fm, target))
                rows.append(("  its floor", fm, fp, 1.0, None))

            for _ in range(3):
                one(PRINT1)
            if "fresh" in only:
                row("print(1), fresh sandbox", *pair(PRINT1, args.n), 1.3)
            if "numpy" in only:
                row("numpy+pandas, fresh sandbox", *pair(NUMPY, max(5, args.n // 4)), 0.2)

            # warm: the second and later calls of a stateful session run in
            # the session's sandbox, already started and used, like the
            # floor's container; the pause lets the reset after each call
            # (off the answer's path) finish, and the floor gets the same
            def call_session(code):
                st, j = app.request("POST", "/v1/exec", {"lang": "py", "code": code,
                                                         "runtime_session_hint": "bench"},
                                    headers={"X-CodeAPI-Expected-Profile": "stateful"},
                                    conn=conn)
                assert st == 200 and j["stdout"].strip(), j
                return j
            if "warm" in only:
                call_session(PRINT1)
                warm, floor_warm = [], []
                for _ in range(args.n):
                    time.sleep(0.5)
                    t0 = time.perf_counter()
                    j = call_session(PRINT1)
                    warm.append(time.perf_counter() - t0)
                    assert j["runtime_status"] == "reused", j
                    time.sleep(0.5)
                    floor_warm.append(floor_exec(cid, PRINT1))
                row("print(1), warm session", warm, floor_warm, 1.0)

            # back to back, as users load it: each run overlaps the removal
            # and refill of the ones before it. Each loop starts from a full,
            # settled pool; the floor's loops run at the same concurrency,
            # each into its own container.
            if "throughput" in only:
                for k in (1, 4):
                    per = max(5, args.b // (1 if k == 1 else 2))

                    def ours_loop(i, per=per):
                        c = app.conn()
                        try:
                            return [run(PRINT1, conn=c, user="bench-user-%d" % i)
                                    for _ in range(per)]
                        finally:
                            c.close()

                    def floor_loop(i, per=per):
                        return [floor_exec(cids[i], PRINT1) for _ in range(per)]
                    settle()
                    ours = clients([lambda i=i: ours_loop(i) for i in range(k)])
                    settle()
                    floor = clients([lambda i=i: floor_loop(i) for i in range(k)])
                    tput.append((k, per, ours, floor))
            rss, detail, readers = daemons_rss(app)
            if os.environ.get("CW_BENCH_LOG"):
                print(app.log("privd")[-4000:])
            if os.environ.get("CW_BENCH_SMAPS"):
                smaps_dump(app, os.environ["CW_BENCH_SMAPS"])
    finally:
        for c in cids:
            docker_api("DELETE", "/v1.41/containers/%s?force=1&v=1" % c)

    if rows:
        print("%-34s %9s %9s %7s %7s" % ("", "median", "p90", "ratio", "target"))
    for name, med, p90, ratio, target in rows:
        print("%-34s %7.1fms %7.1fms %6.2fx %7s" % (name, med * 1000, p90 * 1000, ratio,
                                                    "<= %.2fx" % target if target else ""))
    if tput:
        print("%-34s %9s %9s %9s %17s %17s" % ("back to back, print(1)", "exec/s", "p50", "p90",
                                               "throughput ratio", "p90 ratio"))
    for k, per, (wall, ours), (fwall, floor) in tput:
        om, op = summary(ours)
        fm, fp = summary(floor)
        name = "%d client%s x %d runs" % (k, "s (4 users)" if k > 1 else "", per)
        print("%-34s %9.2f %7.1fms %7.1fms %6.2fx (>= 1.5x) %6.2fx (<= 1.5x)" % (
            name, len(ours) / wall, om * 1000, op * 1000, (len(ours) / wall) / (len(floor) / fwall),
            op / fp))
        print("%-34s %9.2f %7.1fms %7.1fms" % ("  its floor", len(floor) / fwall,
                                                fm * 1000, fp * 1000))
    print("three daemons resident: %.2f MB %s (target < 12 MB)" % (rss / 1024.0, detail))
    print("their policy readers: %s" % readers)


if __name__ == "__main__":
    main()
