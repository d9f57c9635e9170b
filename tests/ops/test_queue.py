"""The admission queue, on the real engine.

An execution over per-user (or total) waits in a bounded queue instead of
a 429: three concurrent runs of one user with per-user 2 and queue 1 are
all answered 200, a fourth beyond the queue is 429 with Retry-After and a
JSON body. The queue is fair: while user A floods, user B's single run is
served before most of A's waiting ones. A refusal after more than 3 s of
waiting is already committed to 200: its body is the JSON error with the
message in stderr, which LibreChat shows. A reload that shortens the queue
refuses its extra waiters at once, a shutdown answers every waiter.
/metrics shows the queue."""
import json
import os
import signal
import threading
import time

from cwtest import Appliance, check, policy_set
from opslib import main_then_stop, scrape, wait_for

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


def one_running_two_waiting(a, long_code):
    """user u's long run in flight, two more of u's waiting: their threads
    and the list their answers land in"""
    out = [None] * 3
    ts = [threading.Thread(target=post, args=(a, "u", long_code, out, 0))]
    ts[0].start()
    wait_for("the run in flight", lambda: scrape(a.port, a.key).get(
        "codeward_executions_running") == 1, 30)
    for i in (1, 2):
        ts.append(threading.Thread(target=post, args=(a, "u", "print(2)", out, i)))
        ts[-1].start()
    wait_for("two waiting", lambda: scrape(a.port, a.key).get(
        "codeward_admission_queue_length") == 2, 10)
    return ts, out


def test_reload_that_shortens_the_queue_refuses_its_waiters():
    """per-user 1, queue 4: one run, two waiting; a reload to queue 0
    refuses both at once (429), the run goes on, the next run is served"""
    with Appliance([("concurrency", "per-user", "1"), ("concurrency", "queue", "4")],
                   name="qreload") as a:
        ts, out = one_running_two_waiting(a, "import time; time.sleep(6); print(1)")
        text = policy_set(open(a.policy_path).read(), "concurrency", "queue", "0")
        with open(a.policy_path + ".new", "w") as f:
            f.write(text)
        os.rename(a.policy_path + ".new", a.policy_path)
        a.procs["privd"].send_signal(signal.SIGHUP)
        for t in ts:
            t.join()
        check(out[0][0] == 200 and json.loads(out[0][1])["stdout"] == "1\n", "the run %r" % (out[0],))
        for st, body, retry, took, _ in out[1:]:
            j = json.loads(body)
            # Retry-After from the policy the request came under
            check(st == 429 and j.get("error") == "rate_limited" and retry and retry.isdigit() and
                  "shortened the queue" in j.get("message", ""), "a waiter: %s %r" % (st, j))
        m = scrape(a.port, a.key)
        check(m.get("codeward_admission_refusals_total", reason="stop") == 2, "counted as stop")
        check(m.get("codeward_admission_queue_capacity") == 0, "capacity follows the reload")
        check(a.exec("py", "print(3)", user_id="u")["stdout"] == "3\n", "the next run")


def test_shutdown_answers_the_waiters():
    """privd stopping with runs waiting: each waiter is answered (a JSON
    error), none is left hanging, no sandbox is left"""
    with Appliance([("concurrency", "per-user", "1"), ("concurrency", "queue", "4")],
                   name="qstop") as a:
        ts, out = one_running_two_waiting(a, "import time; time.sleep(20)")
        t0 = time.monotonic()
        a.procs["privd"].send_signal(signal.SIGTERM)
        for t in ts[1:]:
            t.join(15)
        check(not any(t.is_alive() for t in ts[1:]), "a waiter still hangs")
        check(time.monotonic() - t0 < 10, "waiters answered in %.1fs" % (time.monotonic() - t0))
        for st, body, _, _, _ in out[1:]:
            try:
                j = json.loads(body)
            except ValueError:
                j = {}
            # the answer privd sends as it stops, or frontd's when privd is gone
            check(st in (200, 503) and "error" in j, "a waiter: %s %r" % (st, body[:300]))
        ts[0].join(30)


if __name__ == "__main__":
    main_then_stop(globals(), lambda: app)
