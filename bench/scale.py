#!/usr/bin/env python3
"""Scale-out benchmarks (issue 19), as ratios to the floor measured in the
same run (bench/bench.py's: a raw Docker Engine API exec into an already-
running container of the same image, no codeward in the path).

  throughput  print(1) sent back to back through HAProxy in front of 1, 2
              and 3 nodes on one s3rver bucket (tests/scale/scalelib.py's
              cluster, as CODEWARD_NODES=N ./codeward up runs it), from 1
              client (-b runs) and from 4 clients at once (-b/2 runs
              each, a user each); the floor runs the same loops at the
              same concurrency right after, each into its own container.
              Executions a second, p50/p90, and the ratio of throughputs.
  store       the median latency of an upload and of a download (-s KB,
              -n samples each) on one appliance under [store] backend s3
              (s3rver on loopback) and under backend local: what the
              object store adds per call.

On one machine every node shares the same cores and the same Docker
engine: more nodes add HAProxy's hop and more daemons competing for the
same CPUs, so this shows the overhead of the topology, not its gain; the
gain needs nodes on machines of their own. Benchmarks are never timed
tests: this prints numbers, it does not pass or fail on them.

  usage: bench/scale.py [-b RUNS] [-n SAMPLES] [-s KB] [--nodes 1,2,3]
                        [--only throughput,store]
"""
import argparse
import os
import secrets
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "scale"))
import cwtest  # noqa: E402
from bench import PRINT1, clients, floor_container, floor_exec, summary, wait_pool  # noqa: E402
from cwhttp import content_type, multipart  # noqa: E402
from cwtest import Appliance, docker_api  # noqa: E402
from scalelib import Cluster  # noqa: E402

# bench.py's appliance: the shipped policy with its pool and prewarm stated
POLICY = [("concurrency", "pool", "4"), ("concurrency", "prewarm", "py"),
          ("concurrency", "sessions", "2")]
USER = "bench-user"


def settle(cluster):
    """every node's pool full, its background work done (bench.py's)"""
    for n in cluster.nodes:
        wait_pool(n, 4)
    time.sleep(2.5)


def run(front, conn, user):
    t0 = time.perf_counter()
    st, j = front.request("POST", "/v1/exec", {"lang": "py", "code": PRINT1, "user_id": user},
                          conn=conn)
    dt = time.perf_counter() - t0
    assert st == 200 and j["stdout"].strip(), (st, j)
    return dt


def throughput(nodes, b, cids):
    rows = []
    with Cluster(nodes, POLICY) as c:
        for _ in range(3 * nodes):
            c.front.exec("py", PRINT1)
        for k in (1, 4):
            per = max(5, b // (1 if k == 1 else 2))

            def ours_loop(i, per=per):
                conn = c.front.conn()
                try:
                    return [run(c.front, conn, "bench-user-%d" % i) for _ in range(per)]
                finally:
                    conn.close()

            def floor_loop(i, per=per):
                return [floor_exec(cids[i], PRINT1) for _ in range(per)]
            settle(c)
            ours = clients([lambda i=i: ours_loop(i) for i in range(k)])
            settle(c)
            floor = clients([lambda i=i: floor_loop(i) for i in range(k)])
            rows.append((nodes, k, per, ours, floor))
    return rows


def upload(app, data):
    t0 = time.perf_counter()
    st, j = app.request("POST", "/v1/upload",
                        multipart([("kind", "user"), ("id", USER), ("file", "b.bin", data, "x/y")]),
                        headers={"Content-Type": content_type(), "User-Id": USER})
    dt = time.perf_counter() - t0
    assert st == 200, (st, j)
    return dt, j["storage_session_id"], j["files"][0]["fileId"]


def download(app, sid, fid, size):
    t0 = time.perf_counter()
    st, body, _ = app.request("GET", "/v1/download/%s/%s" % (sid, fid), raw=True,
                              headers={"User-Id": USER})
    dt = time.perf_counter() - t0
    assert st == 200 and len(body) == size, (st, len(body))
    return dt


def store(n, kb):
    """{backend: (upload median, download median)} in seconds"""
    out = {}
    data = secrets.token_bytes(kb * 1024)
    for backend in ("local", "s3"):
        with Appliance(POLICY, name="bench-store-" + backend, store=backend) as a:
            ups, downs = [], []
            for _ in range(2):      # the first calls: connections made, caches filled
                _, sid, fid = upload(a, data)
                download(a, sid, fid, len(data))
            for _ in range(n):
                dt, sid, fid = upload(a, data)
                ups.append(dt)
                downs.append(download(a, sid, fid, len(data)))
            out[backend] = (summary(ups)[0], summary(downs)[0])
        a.s3_end()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-b", type=int, default=40,
                    help="back-to-back runs from 1 client; half of it from each of 4")
    ap.add_argument("-n", type=int, default=20, help="uploads and downloads per store backend")
    ap.add_argument("-s", type=int, default=256, help="the file's size in KB")
    ap.add_argument("--nodes", default="1,2,3")
    ap.add_argument("--only", default="throughput,store")
    args = ap.parse_args()
    only = set(args.only.split(","))
    cwtest.require_docker()
    print("on one machine all nodes share its cores and its Docker engine: this shows "
          "the overhead of the balancer and the object store, not the gain of more nodes",
          flush=True)
    if "store" in only:
        st = store(args.n, args.s)
        print("\nstore, %d KB file, median of %d (ms)" % (args.s, args.n))
        print("%-10s %9s %9s" % ("", "upload", "download"))
        for backend in ("local", "s3"):
            print("%-10s %9.1f %9.1f" % (backend, st[backend][0] * 1e3, st[backend][1] * 1e3))
        print("%-10s %+9.1f %+9.1f" % ("s3 adds", (st["s3"][0] - st["local"][0]) * 1e3,
                                         (st["s3"][1] - st["local"][1]) * 1e3), flush=True)
    if "throughput" in only:
        cids = [floor_container() for _ in range(4)]
        rows = []
        try:
            for c in cids:
                for _ in range(3):
                    floor_exec(c, PRINT1)
            for n in [int(x) for x in args.nodes.split(",")]:
                rows += throughput(n, args.b, cids)
                print("  %d node(s) done" % n, flush=True)
        finally:
            for c in cids:
                docker_api("DELETE", "/v1.41/containers/%s?force=1&v=1" % c)
        print("\nthroughput through HAProxy, print(1) back to back")
        print("%-6s %-8s %6s %9s %8s %8s %9s %7s" % ("nodes", "clients", "runs", "exec/s",
                                                      "p50 ms", "p90 ms", "floor/s", "ratio"))
        for nodes, k, per, (wall, lat), (fwall, flat) in rows:
            ours = k * per / wall
            floor = k * per / fwall
            p50, p90 = summary(lat)
            print("%-6d %-8d %6d %9.2f %8.0f %8.0f %9.2f %6.2fx" % (
                nodes, k, k * per, ours, p50 * 1e3, p90 * 1e3, floor, ours / floor))


if __name__ == "__main__":
    main()
