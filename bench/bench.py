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
  b2b       print(1) sent back to back: each run overlaps the removal and the
            refill of the last one (information: 2 cores share that work)

and the resident memory of the three daemons. Benchmarks are never timed
tests: this prints numbers, it does not pass or fail on them.

  usage: bench/bench.py [-n ITERATIONS]
"""
import argparse
import json
import os
import statistics
import sys
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


def daemons_rss(app):
    total = 0
    pids = [p.pid for p in app.procs.values()]
    # frontd is privd's child
    for pid in list(pids):
        try:
            kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
            pids += [int(k) for k in kids]
        except OSError:
            pass
    detail = {}
    for pid in pids:
        try:
            status = open("/proc/%d/status" % pid).read()
            name = open("/proc/%d/comm" % pid).read().strip()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                kb = int(line.split()[1])
                detail[name] = kb
                total += kb
    return total, detail


def wait_pool(app, want, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(app.leftovers()) >= want:
            return
        time.sleep(0.05)


def summary(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[int(len(xs) * 0.9) - 1] if len(xs) >= 10 else xs[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    args = ap.parse_args()
    cwtest.require_docker()

    # Each codeward sample is paired with a floor sample taken under the same
    # conditions: the same idle gap before it (an exec after a pause costs
    # 20-30 ms more than one right after another, on both paths) and, for
    # fresh sandboxes, the same settled pool.
    cid = floor_container()
    pool = 2
    try:
        for _ in range(3):
            floor_exec(cid, PRINT1)
        # plain and pre-warmed Python sandboxes: two pools
        with Appliance(overrides=[("concurrency", "pool", str(pool)),
                                  ("concurrency", "prewarm", "py"),
                                  ("concurrency", "sessions", "2")], name="bench") as app:
            conn = app.conn()

            def settle():
                # the warm pool's condition: full, and its background work
                # done (the previous sandbox removed, the refill started and
                # its interpreter finished importing)
                wait_pool(app, 2 * pool)
                time.sleep(2.5)

            def one(code):
                settle()
                t0 = time.perf_counter()
                st, j = app.request("POST", "/v1/exec", {"lang": "py", "code": code}, conn=conn)
                dt = time.perf_counter() - t0
                assert st == 200 and j["stdout"].strip(), j
                return dt

            def pair(code, n):
                ours, floor = [], []
                for _ in range(n):
                    ours.append(one(code))
                    settle()
                    floor.append(floor_exec(cid, code))
                return ours, floor

            for _ in range(3):
                one(PRINT1)
            fresh, floor_fresh = pair(PRINT1, args.n)
            numpy_, floor_np = pair(NUMPY, max(5, args.n // 4))

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
            # back to back: each run overlaps the previous one's removal and
            # refill; its floor is back to back too
            b2b = []
            for _ in range(max(5, args.n // 2)):
                t0 = time.perf_counter()
                st, j = app.request("POST", "/v1/exec", {"lang": "py", "code": PRINT1}, conn=conn)
                b2b.append(time.perf_counter() - t0)
            floor_b2b = [floor_exec(cid, PRINT1) for _ in range(max(5, args.n // 2))]
            rss, detail = daemons_rss(app)
            if os.environ.get("CW_BENCH_LOG"):
                print(app.log("privd")[-4000:])
    finally:
        docker_api("DELETE", "/v1.41/containers/%s?force=1&v=1" % cid)

    rows = []
    for name, ours, floor, target in [
            ("print(1), warm session", warm, floor_warm, 1.1),
            ("print(1), fresh sandbox", fresh, floor_fresh, 1.3),
            ("numpy+pandas, fresh sandbox", numpy_, floor_np, 0.5),
            ("print(1) back to back (info)", b2b, floor_b2b, None)]:
        fm, fp = summary(floor)
        om, op = summary(ours)
        rows.append((name, om, op, om / fm, target))
        rows.append(("  its floor", fm, fp, 1.0, None))
    print("%-30s %9s %9s %7s %7s" % ("", "median", "p90", "ratio", "target"))
    for name, med, p90, ratio, target in rows:
        print("%-30s %7.1fms %7.1fms %6.2fx %7s" % (name, med * 1000, p90 * 1000, ratio,
                                                    "%.2fx" % target if target else ""))
    print("daemons resident: %.1f MB %s (target < 12 MB)" % (rss / 1024.0, detail))


if __name__ == "__main__":
    main()
