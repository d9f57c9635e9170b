"""A policy reload on a live appliance (real engine): SIGHUP, and
`./codeward policy apply`, make sockproxy and privd read the policy file again.

Every run is tied to its policy: its container's memory in `docker inspect`
and its audit lines' policy hash. A broken policy is refused by both daemons
(their logs say why), and a run afterwards still gets the old memory and the
old hash; a policy whose [metrics] changed is refused as needing a restart; a
good one, applied with `./codeward policy apply` (sockproxy first, then
privd), gives the next run the new memory and hash, frontd's upload cap
follows it, and a run that started before the reload ends under the old one.
The tests run in order (test_1_..., test_2_...) on one appliance with a warm
pool, whose sandboxes of the old policy must not serve the new one."""
import json
import os
import subprocess
import threading
import time

from cwhttp import Client
from cwtest import SOURCE, Appliance, check, docker_api
from opslib import (audit_lines, daemon_log, main_then_stop, policy_id, running_sandboxes,
                    scrape, wait_for)

USER = "6650f1c2a1b2c3d4e5f60718"
OLD_MEMORY, NEW_MEMORY = 256 << 20, 320 << 20
OLD_UPLOAD, NEW_UPLOAD = "64K", "8K"
BASE = [("concurrency", "pool", "1"), ("sandbox", "memory", "256M"),
        ("files", "upload-max", OLD_UPLOAD), ("time", "default", "20s"),
        ("time", "max", "20s")]
app = None
ids = {}


def setup():
    global app
    if app is None:
        app = Appliance(BASE, name="reload").start()
        ids["old"] = policy_id(app.policy_path)
    return app


def write_policy(text):
    """Replace the appliance's policy file as an editor would: a new file
    renamed over the old one."""
    tmp = setup().policy_path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, setup().policy_path)


def hup(name):
    setup().procs[name].send_signal(1)


def log_after(name, mark, pattern, timeout=30):
    """Wait for a line with pattern in a daemon's log after mark (a length)."""
    return wait_for("%s: %r" % (name, pattern),
                    lambda: pattern in daemon_log(setup(), name)[mark:], timeout)


def marks():
    return {n: len(daemon_log(setup(), n)) for n in ("privd", "sockproxy")}


def memories_while(fn):
    """Run fn in a thread; meanwhile note every sandbox container's memory
    (docker inspect, by the appliance's instance label). Returns fn's result
    and {container id: HostConfig.Memory}."""
    seen, out = {}, {}

    def body():
        out["r"] = fn()

    t = threading.Thread(target=body)
    t.start()
    while t.is_alive():
        for cid in running_sandboxes(setup().instance):
            if cid not in seen:
                st, raw = docker_api("GET", "/v1.41/containers/%s/json" % cid)
                if st == 200:
                    seen[cid] = json.loads(raw)["HostConfig"]["Memory"]
        time.sleep(0.05)
    t.join()
    return out.get("r"), seen


def run_and_check(memory, pid, code="sleep 2; echo done"):
    """One run: its container had 'memory' in docker inspect while it ran,
    and its audit lines (privd's exec, frontd's exec-files) name policy pid."""
    a = setup()
    j, mems = memories_while(lambda: a.exec("bash", code, user_id=USER))
    check(j["stdout"] == "done\n", "run %r" % j)
    log = daemon_log(a, "privd")
    files = [x for x in audit_lines(log, "exec-files") if x["session"] == j["session_id"]]
    check(len(files) == 1, "exec-files line %r" % files)
    execs = [x for x in audit_lines(log, "exec") if x["run"] == files[0]["run"]]
    check(len(execs) == 1, "exec line %r" % execs)
    e = execs[0]
    check(e["container"] in mems, "the run's container %s was not seen (seen %r)"
          % (e["container"], mems))
    check(mems[e["container"]] == memory, "the run's container had memory %d, want %d"
          % (mems[e["container"]], memory))
    check(e["limits"]["memory"] == memory, "audit limits %r" % e["limits"])
    check(e["policy"] == pid and files[0]["policy"] == pid,
          "audit policy %r / %r, want %s" % (e["policy"], files[0]["policy"], pid))
    return e


def upload(nbytes):
    parts = [("kind", "user"), ("id", USER), ("file", "f.bin", b"x" * nbytes, "text/plain")]
    r = Client(setup().port, {"X-API-Key": setup().key}).upload(parts, headers={"User-Id": USER})
    return r.status


def test_1_start_logs_and_runs_under_its_policy():
    a = setup()
    for name in ("privd", "sockproxy"):
        check("policy %s" % ids["old"] in daemon_log(a, name), "%s does not log its policy" % name)
    run_and_check(OLD_MEMORY, ids["old"])
    check(upload(16 << 10) == 200, "a 16K upload under the old upload-max")


def test_2_broken_policy_is_refused_and_changes_nothing():
    a = setup()
    good = open(a.policy_path).read()
    bad = a.text(BASE + [("sandbox", "memory", "lots")])
    badline = bad.split("\n").index("memory lots") + 1
    write_policy(bad)
    m = marks()
    hup("sockproxy")
    hup("privd")
    for name in ("sockproxy", "privd"):
        log_after(name, m[name], "reload refused: %s:" % a.policy_path)
        line = [l for l in daemon_log(a, name)[m[name]:].splitlines() if "reload refused" in l][0]
        # FILE:LINE: message; the old one stays
        check("%s:%d:" % (a.policy_path, badline) in line and
              ids["old"] + " stays in force" in line,
              "%s: %r" % (name, line))
    run_and_check(OLD_MEMORY, ids["old"])
    s = scrape(a.port, a.key)
    check(s.get("codeward_policy_info", sha256=ids["old"][7:]) == 1, "metrics still name the old")
    write_policy(good)


def test_3_a_restart_setting_is_refused():
    a = setup()
    write_policy(a.text(BASE + [("metrics", "listen", "none")]))
    m = marks()
    hup("sockproxy")
    hup("privd")
    for name in ("sockproxy", "privd"):
        log_after(name, m[name], "a restart is needed")
        check(ids["old"] + " stays in force" in daemon_log(a, name)[m[name]:], name)
    write_policy(a.text(BASE))


def test_4_apply_puts_a_good_policy_in_force():
    a = setup()
    new = BASE[:1] + [("sandbox", "memory", "320M"), ("files", "upload-max", NEW_UPLOAD)] + BASE[3:]
    # a run that starts before the reload ends under the old policy
    slow = {}

    def long_run():
        slow["r"], slow["mems"] = memories_while(
            lambda: a.exec("bash", "sleep 6; echo slow", user_id=USER))

    t = threading.Thread(target=long_run)
    t.start()
    wait_for("the slow run in flight", lambda: scrape(a.port, a.key).get(
        "codeward_executions_running") >= 1, 30)
    write_policy(a.text(new))
    ids["new"] = policy_id(a.policy_path)
    check(ids["new"] != ids["old"], "the new policy has the old id")
    # ./codeward policy apply, on this appliance's files
    etc, run, logs = (os.path.join(a.dir, d) for d in ("etc", "run", "logs"))
    for d in (etc, run, logs):
        os.makedirs(d, exist_ok=True)
    # the deployed policy is the very file the daemons read (a hard link:
    # codeward-policy opens no symbolic link); the logs are theirs
    os.link(a.policy_path, os.path.join(etc, "codeward.policy"))
    for name in ("privd", "sockproxy"):
        os.symlink(a.logs[name].name, os.path.join(logs, name + ".log"))
    for name in ("privd", "sockproxy"):
        with open(os.path.join(run, name + ".pid"), "w") as f:
            f.write("%d\n" % a.procs[name].pid)
    env = dict(os.environ, CODEWARD_ETC=etc, CODEWARD_RUN=run, CODEWARD_LOG=logs)
    r = subprocess.run([os.path.join(SOURCE, "codeward"), "policy", "apply"], env=env,
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and ids["new"] in r.stdout + r.stderr,
          "policy apply: %d %s %s" % (r.returncode, r.stdout, r.stderr))
    for name in ("sockproxy", "privd"):
        check("reload: policy %s in force (was %s)" % (ids["new"], ids["old"])
              in daemon_log(a, name), "%s did not log the reload" % name)
    t.join(60)
    # the slow run: admitted before, finished under the old policy
    j = slow["r"]
    check(j["stdout"] == "slow\n", "slow run %r" % j)
    # its audit lines, found by its session id (under jail its worker
    # served earlier runs too)
    log = daemon_log(a, "privd")
    run_ids = [x["run"] for x in audit_lines(log, "exec-files") if x["session"] == j["session_id"]]
    old_runs = [x for x in audit_lines(log, "exec")
                if x["run"] in run_ids and x["policy"] == ids["old"]]
    check(len(old_runs) == 1 and slow["mems"].get(old_runs[0]["container"]) == OLD_MEMORY,
          "the run under way: %r %r" % (old_runs, slow["mems"]))
    # the next runs: the new memory (the pool's old sandbox is not used) and hash
    run_and_check(NEW_MEMORY, ids["new"])
    run_and_check(NEW_MEMORY, ids["new"])
    # frontd's limits followed through the IPC: the upload cap is the new one
    check(upload(16 << 10) == 413, "a 16K upload over the new upload-max of %s" % NEW_UPLOAD)
    check(upload(4 << 10) == 200, "a 4K upload")
    s = scrape(a.port, a.key)
    check(s.get("codeward_policy_info", sha256=ids["new"][7:]) == 1, "metrics name the new")
    # no sandbox of the old policy is left in the pool
    def pool_is_new():
        for cid in running_sandboxes(a.instance):
            st, raw = docker_api("GET", "/v1.41/containers/%s/json" % cid)
            if st == 200 and json.loads(raw)["HostConfig"]["Memory"] != NEW_MEMORY:
                return False
        return True
    wait_for("the pool refilled under the new policy", pool_is_new, 30)


if __name__ == "__main__":
    main_then_stop(globals(), lambda: app)
