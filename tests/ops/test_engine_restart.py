"""The Docker engine stopped and started again under a running appliance.

It stops the machine's dockerd, which every other test needs: meson runs it
only in its own suite, engine-restart, which the default test setup leaves
out and ./codeward test (scripts/test.sh) runs last, alone. Never run it on
an engine others share.

With 8 executions in flight, dockerd is stopped (SIGTERM to its process; the
engine stops every container as it shuts down) and started again with the
same command line, in the same directory, logging where it logged: every
request is answered (a JSON error or a success), health is 200 within 2 s of
the engine answering again, 8 executions after it all succeed, no sandbox of
the instance is left stopped or unknown to privd after its resync, and
codeward_sandboxes_active equals the instance's containers.
"""
import os
import signal
import subprocess
import time

from cwtest import DOCKER_SOCK, Appliance, check, docker_api, main
from opslib import daemon_log, wait_for
from test_resync import (OVERRIDES, each_answered, eight_in_flight, healthy_within,
                         live_count_right, none_exited, runs_succeed)


def dockerd():
    """The one dockerd process: (pid, argv, cwd, where its stdout goes)"""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % p) as f:
                if f.read().strip() == "dockerd":
                    pids.append(int(p))
        except OSError:
            pass
    check(len(pids) == 1, "expected one dockerd, found %r" % pids)
    pid = pids[0]
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        argv = [a.decode() for a in f.read().split(b"\0") if a]
    out = os.readlink("/proc/%d/fd/1" % pid)
    return pid, argv, os.readlink("/proc/%d/cwd" % pid), out if out.startswith("/") else None


def engine_answers():
    try:
        return docker_api("GET", "/_ping")[0] == 200
    except OSError:
        return False


def restart_engine():
    """stop dockerd, start it again as it was: when it answered again"""
    pid, argv, cwd, out = dockerd()
    os.kill(pid, signal.SIGTERM)
    wait_for("dockerd stopped", lambda: not os.path.exists("/proc/%d" % pid), 120, 0.1)
    log = open(out, "ab") if out and os.path.isfile(out) else subprocess.DEVNULL
    subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                     stderr=subprocess.STDOUT, start_new_session=True)
    wait_for("the engine answering on %s" % DOCKER_SOCK, engine_answers, 120, 0.05)
    return time.monotonic()


def test_engine_restarted_with_8_in_flight():
    with Appliance(OVERRIDES, name="engine-restart") as a:
        ts, out = eight_in_flight(a)
        healthy_within(a, restart_engine(), 2.0, "the engine answering again")
        each_answered(ts, out)
        runs_succeed(a, 8)
        none_exited(a)
        live_count_right(a)
        check("resync: pool dropped" in daemon_log(a, "privd"), "no resync line")


if __name__ == "__main__":
    main(globals())
