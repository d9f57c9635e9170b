"""One node of three killed with signal 9 in the middle of 8 executions
through HAProxy (issue 19), on the real engine: its supervisor, daemons,
frontd and storeproxy all at once. The other nodes' executions succeed;
the killed node's are answered 5xx by HAProxy within seconds, never hung
(nothing is sent again: an execution is not idempotent); requests after
the kill all succeed on the two left; every file uploaded before the kill
downloads byte-exact from them (the S3 store); and once the node is started
again, its sockproxy's start-up sweep has removed every container the
killed one left, and at the end none of any node's instance remains.
Without Docker, s3rver or haproxy this fails."""
import secrets
import threading
import time

from cwhttp import content_type, multipart
from cwtest import check, containers_with_label, main
from scalelib import LIGHT, Cluster, sha

USER = "kill-user"
SLEEP = "import time\ntime.sleep(2)\nprint('done', %d)\n"


def upload(front, name, data):
    st, j = front.request("POST", "/v1/upload",
                          multipart([("kind", "user"), ("id", USER), ("file", name, data, "x/y")]),
                          headers={"Content-Type": content_type(), "User-Id": USER})
    check(st == 200, "upload: %s %r" % (st, j))
    return j["storage_session_id"], j["files"][0]["fileId"]


def test_kill_one_node_mid_run():
    with Cluster(3, LIGHT + [("concurrency", "total", "4"), ("concurrency", "per-user", "4")]) as c:
        victim = c.nodes[1]
        # files first, spread over the nodes by round robin
        files = []
        for i in range(6):
            data = secrets.token_bytes(50000 + i)
            files.append((upload(c.front, "f%d.bin" % i, data), data))
        # every node has run something (its workers exist to be left behind)
        for i in range(3):
            c.front.exec("py", "print(%d)" % i, user_id=USER)

        results = [None] * 8

        def run(i):
            t0 = time.monotonic()
            try:
                st, j = c.front.request("POST", "/v1/exec",
                                        {"lang": "py", "code": SLEEP % i, "user_id": USER},
                                        conn=c.front.conn(timeout=90))
            except OSError as e:
                st, j = None, repr(e)
            results[i] = (st, j, t0, time.monotonic())
        time.sleep(0.5)         # HAProxy logs a request once it has answered it
        mark = len(c.routed())
        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        before = set(containers_with_label("codeward.instance=" + victim.instance))
        t_kill = time.monotonic()
        pids = victim.kill9()
        for t in threads:
            t.join(100)
        check(not any(t.is_alive() for t in threads), "an execution hung past 100 s")
        print("killed %s: %d processes; %d of its containers" % (victim.node, len(pids), len(before)))

        # the answers: 200 with the output, or a 5xx within seconds of the kill
        ok = [r for r in results if r[0] == 200]
        bad = [r for r in results if r[0] != 200]
        for st, j, t0, t1 in ok:
            check(j["stdout"].startswith("done "), "%r" % j)
        for st, j, t0, t1 in bad:
            check(st is not None and 500 <= st <= 599 and isinstance(j, dict) and j.get("error"),
                  "a killed run answered %s %r" % (st, j))
            check(t1 - t_kill < 10, "a killed run answered %.1f s after the kill" % (t1 - t_kill))
        check(ok and bad, "statuses %r: the kill should cost some runs, not all"
              % [r[0] for r in results])
        # and HAProxy says which node each went to: every 5xx the victim's,
        # every answer of the others a 200; nothing sent twice
        execs = [r for r in c.routed()[mark:] if r[2] == "POST /v1/exec"]
        check(len(execs) == 8, "HAProxy logged %d executions: %r" % (len(execs), execs))
        for srv, st, _ in execs:
            check((st == 200) == (srv != victim.node), "%s answered %d" % (srv, st))

        # later requests: all answered, by the two left
        time.sleep(0.5)
        mark = len(c.routed())
        for i in range(9):
            j = c.front.exec("py", "print('after', %d)" % i, user_id=USER)
            check(j["stdout"] == "after %d\n" % i, "%r" % j)
        used = {srv for srv, st, _ in c.routed()[mark:] if st == 200}
        check(victim.node not in used, "a request answered by the dead node: %r" % used)

        # every file uploaded before the kill, from the survivors and HAProxy
        for (sid, fid), data in files:
            for app in (c.nodes[0], c.nodes[2], c.front):
                st, body, _ = app.request("GET", "/v1/download/%s/%s" % (sid, fid), raw=True,
                                          headers={"User-Id": USER})
                check(st == 200 and sha(body) == sha(data),
                      "%s/%s on %d: %s, %d bytes" % (sid, fid, app.port, st, len(body)))

        # the node back: its start-up sweep removed what the killed one left
        # (sockproxy's sweep runs beside its start: a while, bounded)
        victim.restart()
        deadline = time.monotonic() + 60
        while True:
            left = before & set(containers_with_label("codeward.instance=" + victim.instance))
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        check(not left, "containers of the killed node left 60 s after its restart: %r" % left)
        for i in range(3):
            c.front.exec("py", "print(%d)" % i, user_id=USER)
    # Cluster.stop checked that no node's instance has a container left


if __name__ == "__main__":
    main(globals())
