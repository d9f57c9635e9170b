"""Start-up sweeps and shutdown, on the real engine.

- privd killed (SIGKILL) while a run sleeps: its sandbox is left; frontd goes
  with privd; a new privd on the same sockproxy removes the orphan at start
  (resync_sweep), says so in its log and in codeward_sandboxes_swept_total.
- privd and sockproxy both killed mid-run: a new sockproxy of the same
  instance lists the orphan at its start and removes it while it serves.
- SIGTERM: a run that ends within the grace is answered; one that does not is
  killed, its sandbox removed; privd exits in bounded time; nothing is left.
"""
import os
import signal
import subprocess
import threading
import time

from cwtest import Appliance, Fail, check, docker_api, free_port, main
from opslib import audit_lines, daemon_log, running_sandboxes, scrape, wait_for

OVERRIDES = [("concurrency", "pool", "0"), ("time", "default", "60s"), ("time", "max", "60s")]


def start_privd(a, port):
    """A new privd (and frontd) on the appliance's sockproxy, on 'port'."""
    a.port = port
    a.procs["privd"] = subprocess.Popen(
        a.privd_argv(), stdout=a.logs["privd"], stderr=subprocess.STDOUT)
    wait_for("privd healthy", lambda: health(a), 30)


def start_sockproxy(a):
    a.procs["sockproxy"] = subprocess.Popen(
        a.sockproxy_argv(), stdout=a.logs["sockproxy"], stderr=subprocess.STDOUT)


def health(a):
    if a.procs["privd"].poll() is not None:
        raise Fail("privd exited:\n" + a.log("privd"))
    try:
        st, _ = a.request("GET", "/v1/health", auth=False)
        return st == 200
    except OSError:
        return False


def run_in_background(a, code, out):
    def go():
        try:
            out["answer"] = a.request("POST", "/v1/exec", {"lang": "bash", "code": code})
        except Exception as e:          # the connection dies with frontd
            out["error"] = e
    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def container_exists(cid):
    st, _ = docker_api("GET", "/v1.41/containers/%s/json" % cid)
    return st == 200


def test_killed_privd_orphan_swept_by_the_next_privd():
    with Appliance(OVERRIDES, name="sweep-privd") as a:
        out = {}
        run_in_background(a, "sleep 50", out)
        cid = wait_for("the run's sandbox", lambda: running_sandboxes(a.instance), 30)[0]
        frontd = frontd_pid(a)
        a.procs["privd"].send_signal(signal.SIGKILL)
        a.procs["privd"].wait(10)
        # frontd follows its parent at once (the socketpair closes)
        wait_for("frontd gone", lambda: not os.path.exists("/proc/%d" % frontd), 10)
        time.sleep(1)
        check(container_exists(cid), "the orphan should still exist before the sweep")
        start_privd(a, free_port())
        wait_for("orphan removed", lambda: not container_exists(cid), 30)
        # the sweep runs while privd already answers: its line follows the removal
        line = "resync_sweep: removed leftover sandbox %s" % cid[:12]
        wait_for("the sweep line", lambda: line in daemon_log(a, "privd"), 10, 0.05)
        s = scrape(a.port, a.key)
        check(s.get("codeward_sandboxes_swept_total") == 1, "swept counter")
        check(s.get("codeward_sandboxes_active") == 0, "active after the sweep")
        j = a.exec("bash", "echo alive")
        check(j["stdout"] == "alive\n", "a run after the sweep: %r" % j)


def test_killed_pair_orphan_swept_by_the_next_sockproxy():
    with Appliance(OVERRIDES, name="sweep-proxy") as a:
        out = {}
        run_in_background(a, "sleep 50", out)
        cid = wait_for("the run's sandbox", lambda: running_sandboxes(a.instance), 30)[0]
        for name in ("privd", "sockproxy"):
            a.procs[name].send_signal(signal.SIGKILL)
            a.procs[name].wait(10)
        time.sleep(1)
        check(container_exists(cid), "the orphan should still exist before the sweep")
        start_sockproxy(a)
        wait_for("orphan removed by sockproxy's start-up", lambda: not container_exists(cid), 30)
        wait_for("sockproxy listening", lambda: "listening on" in daemon_log(a, "sockproxy"), 30)
        wait_for("the start-up sweep line",
                 lambda: "removed leftover %s" % cid in daemon_log(a, "sockproxy"), 10, 0.05)
        start_privd(a, free_port())
        j = a.exec("bash", "echo alive")
        check(j["stdout"] == "alive\n", "a run after the sweep: %r" % j)


def test_sigterm_answers_a_short_run_and_kills_a_long_one():
    with Appliance(OVERRIDES, name="shutdown") as a:
        short, long_ = {}, {}
        t1 = run_in_background(a, "sleep 2; echo finished", short)
        t2 = run_in_background(a, "sleep 50; echo never", long_)
        wait_for("two sandboxes running", lambda: len(running_sandboxes(a.instance)) == 2, 30)
        ids = running_sandboxes(a.instance)
        t0 = time.time()
        a.procs["privd"].send_signal(signal.SIGTERM)
        rc = a.procs["privd"].wait(40)
        took = time.time() - t0
        check(rc == 0, "privd exit status %r" % rc)
        # 5 s of grace for the runs, the kill, the removals: well under 30
        check(took < 30, "privd took %.1f s to stop" % took)
        t1.join(10)
        t2.join(10)
        check("answer" in short and short["answer"][0] == 200 and
              short["answer"][1]["stdout"] == "finished\n",
              "the short run's answer: %r" % short)
        # the long run did not end, the service did: "unavailable" (503, or
        # inside the 200 a run longer than 3 s is committed to), never a
        # false "memory limit" (a SIGKILL privd did not send reads as one)
        if "answer" in long_:
            st, j = long_["answer"]
            check(st in (200, 503) and j.get("error") == "unavailable" and
                  "shutting down" in j.get("message", ""), "the long run's answer: %r" % (long_,))
        lines = [x for x in audit_lines(daemon_log(a, "privd"), "exec")]
        check(sorted(x["status"] for x in lines) == ["ok", "unavailable"], "audit %r" % lines)
        stopped = [x for x in lines if x["status"] == "unavailable"][0]
        check("shutting down" in stopped["reason"] and stopped["kill"] == "none" and
              stopped["outcome"] == "unavailable", "%r" % stopped)
        for cid in ids:
            check(not container_exists(cid), "sandbox %s left after SIGTERM" % cid[:12])
        check(not a.leftovers(), "leftovers after SIGTERM")
        check("run_shutdown: killing 1 sandbox(es) still running" in daemon_log(a, "privd"),
              "no kill line:\n" + a.log("privd"))


def frontd_pid(a):
    ppid = a.procs["privd"].pid
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == ppid:
                    return int(p)
            except OSError:
                continue
    raise Fail("no frontd under privd %d" % ppid)


if __name__ == "__main__":
    main(globals())
