"""The admission queue, on the real engine.

An execution over per-user (or total) waits in a bounded queue instead of
a 429: three concurrent runs of one user with per-user 2 and queue 1 are
all answered 200, a fourth beyond the queue is 429 with Retry-After and a
JSON body. The queue is fair: while user A floods, user B's single run is
served before most of A's waiting ones. A refusal after more than 3 s of
waiting is already committed to 200: its body is the JSON error with the
message in stderr, which LibreChat shows. /metrics shows the queue."""
import threading
import time

from cwtest import Appliance, check
from opslib import main_then_stop, scrape

SLEEP = "import time; time.sleep(1); print('done')"
app = None


def setup():
    global app
    if app is None:
        app = Appliance([("concurrency", "per-user", "2"), ("concurrency", "queue", "1"),
                         ("concurrency", "pool", "2")], name="queue").start()
    return app


def post(a, user, code, out, i, timeout=120):
    t0 = time.monotonic()
    st, body, r = a.request("POST", "/v1/exec", {"lang": "py", "code": code, "user_id": user},
                            conn=a.conn(timeout), raw=True)
    out[i] = (st, body, r.getheader("Retry-After"), time.monotonic() - t0, time.monotonic())


def run_all(jobs, gap=0.0):
    """jobs: (app, user, code) each; started gap seconds apart; their answers"""
    out = [None] * len(jobs)
    threads = []
    for i, (a, user, code) in enumerate(jobs):
        t = threading.Thread(target=post, args=(a, user, code, out, i))
        t.start()
        threads.append(t)
        if gap:
            time.sleep(gap)
    for t in threads:
        t.join()
    return out


def test_three_queued_fourth_refused():
    import json
    a = setup()
    a.exec("py", "print(1)")	# warm
    before = scrape(a.port, a.key)
    out = [None] * 4
    threads = [threading.Thread(target=post, args=(a, "alice", SLEEP, out, i)) for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.4)	# two run, one waits: the queue (1) is full
    post(a, "alice", SLEEP, out, 3)
    for t in threads:
        t.join()
    for st, body, _, took, _ in out[:3]:
        j = json.loads(body)
        check(st == 200 and j.get("stdout") == "done\n", "queued run answered %s %r" % (st, body[:300]))
    st, body, retry, took, _ = out[3]
    check(st == 429, "the fourth answered %s %r" % (st, body[:300]))
    j = json.loads(body)
    check(j.get("error") == "rate_limited" and isinstance(j.get("retry_after_seconds"), int),
          "429 body %r" % j)
    check(retry is not None and retry.isdigit() and int(retry) == j["retry_after_seconds"]
          and int(retry) >= 1, "Retry-After %r, body %r" % (retry, j))
    check(took < 3, "the refusal of a full queue is at once, took %.1fs" % took)
    # the third waited about a run's time, then ran
    slowest = max(o[3] for o in out[:3])
    check(slowest >= 1.9, "one of three runs waited for a slot (slowest %.1fs)" % slowest)
    after = scrape(a.port, a.key)
    check(after.get("codeward_admission_waits_total") - before.get("codeward_admission_waits_total") >= 1,
          "the wait is counted")
    check(after.get("codeward_admission_refusals_total", reason="full")
          - before.get("codeward_admission_refusals_total", reason="full") == 1, "the refusal is counted")
    check(after.get("codeward_admission_wait_seconds_total")
          > before.get("codeward_admission_wait_seconds_total"), "time waited is summed")
    check(after.get("codeward_admission_queue_length") == 0, "queue empty at the end")
    check(after.get("codeward_admission_queue_capacity") == 1, "capacity is the policy's")


def test_fair_between_users():
    """per-user 2, total 2: A's six runs (two run, four wait), then B's one:
    B is answered before at least three of A's four waiting runs"""
    with Appliance([("concurrency", "total", "2"), ("concurrency", "per-user", "2"),
                    ("concurrency", "queue", "8"), ("concurrency", "pool", "2")],
                   name="fair") as a:
        a.exec("py", "print(1)")
        out = [None] * 7
        threads = [threading.Thread(target=post, args=(a, "A", SLEEP, out, i)) for i in range(6)]
        for t in threads:
            t.start()
            time.sleep(0.05)	# in order
        time.sleep(0.3)
        tb = threading.Thread(target=post, args=(a, "B", SLEEP, out, 6))
        tb.start()
        for t in threads + [tb]:
            t.join()
        for o in out:
            check(o[0] == 200, "answered %s %r" % (o[0], o[1][:200]))
        b_end = out[6][4]
        a_waiting_ends = sorted(o[4] for o in out[2:6])
        after_b = sum(1 for e in a_waiting_ends if e > b_end)
        check(after_b >= 3, "B finished before only %d of A's 4 waiting runs (A %r, B %.2f)"
              % (4 - after_b, [round(e - b_end, 2) for e in a_waiting_ends], 0))


def test_late_refusal_is_a_json_error_in_a_200():
    """per-user 1, queue-wait 4s: the second run waits past 3 s (committed
    to 200) and is refused: 200 with error, retry_after_seconds and the
    message in stderr"""
    import json
    with Appliance([("concurrency", "per-user", "1"), ("concurrency", "queue", "4"),
                    ("concurrency", "queue-wait", "4s")], name="qlate") as a:
        out = run_all([(a, "u", "import time; time.sleep(7)"), (a, "u", "print(2)")], gap=0.5)
        check(out[0][0] == 200 and json.loads(out[0][1]).get("stdout") == "", "first %r" % (out[0],))
        st, body = out[1][0], out[1][1]
        check(st == 200, "late refusal answered %s" % st)
        j = json.loads(body)	# leading spaces are JSON whitespace
        check(j.get("error") == "rate_limited" and j.get("stdout") == "" and
              "[codeward]" in j.get("stderr", "") and "HTTP 429" in j.get("stderr", "") and
              j.get("retry_after_seconds") == 4, "late body %r" % j)
        check(out[1][3] >= 3.9, "refused after its wait, took %.1fs" % out[1][3])
        m = scrape(a.port, a.key)
        check(m.get("codeward_admission_refusals_total", reason="timeout") == 1, "timeout counted")


if __name__ == "__main__":
    main_then_stop(globals(), lambda: app)
