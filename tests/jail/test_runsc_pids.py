"""isolation jail under runsc at the policy's pids floor for it (1024),
through POST /v1/exec of a whole appliance on the real engine: one worker
(pool 1, one run at a time) serves thirty jobs back to back that each run
sixteen threads, each starting a subprocess. gVisor's ptrace platform keeps
a host stub thread per Sentry thread in every address space it pools, so
the worker's host threads grow with the jobs it serves; at 256 such jobs
took the whole worker down (4 of 30, `killed: sandbox`, the Sentry's exit
code 2); at the floor none may. Peak host threads of the worker printed.
The floor itself (a lower pids refused) is tests/policy/test_policy.c's.

No Docker engine: every test fails (cwtest.require_docker), none is skipped.
"""
import glob
import threading
import time

from cwtest import Shared, check, containers_with_label, main

FLOOR = 1024
JOBS = 30
CODE = ("import subprocess, threading\n"
        "ts = [threading.Thread(target=lambda: subprocess.run(['true'])) for _ in range(16)]\n"
        "[t.start() for t in ts]\n[t.join() for t in ts]\nprint('ok')\n")

setup = Shared(isolation="jail", name="runsc-pids",
               overrides=[("sandbox", "runtime", "runsc"), ("sandbox", "pids", str(FLOOR)),
                          ("sandbox", "jail-runsc-caps",
                           "SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP"),
                          ("concurrency", "total", "1"), ("concurrency", "per-user", "1"),
                          ("concurrency", "pool", "1"), ("sandbox", "reuse", "1000"),
                          ("time", "default", "30s")])


def test_threaded_jobs_back_to_back_at_the_floor():
    a = setup()
    peak, stop = {}, []

    def sample():
        # the worker's pids cgroup (v1 under cgroupfs, v2 under systemd)
        while not stop:
            for cid in containers_with_label("codeward.instance=" + a.instance):
                for f in (glob.glob("/sys/fs/cgroup/pids/docker/%s/pids.current" % cid) +
                          glob.glob("/sys/fs/cgroup/system.slice/docker-%s.scope/pids.current" % cid)):
                    try:
                        peak[cid] = max(peak.get(cid, 0), int(open(f).read()))
                    except (OSError, ValueError):
                        pass
            time.sleep(0.2)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    bad = []
    try:
        for i in range(JOBS):
            st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": CODE})
            check(st == 200, "exec answered %s: %r" % (st, j))
            if j["run"].get("killed") or j["stdout"] != "ok\n":
                bad.append((i, j["run"], j["stderr"][-200:]))
    finally:
        stop.append(1)
        t.join()
    print("runsc jail at pids %d: %d threaded jobs, %d not answered ok; peak host threads "
          "per worker %r" % (FLOOR, JOBS, len(bad), sorted(peak.values())))
    check(not bad, "jobs at the floor went down: %r" % bad)


def test_zz_stop():
    setup.stop()


if __name__ == "__main__":
    main(globals(), setup)
