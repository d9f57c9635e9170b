"""The three daemons together on the real engine: each confined under its own
user, the socket permissions that keep frontd from sockproxy and privd from
dockerd, each daemon holding exactly its own seccomp filter while serving
(the filter try-syscall shows killing its forbidden calls), privd's answer
to frontd's death by SIGSYS, and a hostile frontd that makes privd create
nothing. Needs Docker and the
sockproxy binary: without either it fails, it never skips."""
import json
import os
import shutil
import signal
import subprocess
import time

from cwsec import PrivdAlone, check_confined, check_filter, uid_of, wait_exit
from cwtest import (BUILD, DOCKER_SOCK, Appliance, Fail, check, docker_api, main, policy_text,
                    require_docker, _q)

SOCKPROXY = os.path.join(BUILD, "sockproxy", "codeward-sockproxy")


def require_sockproxy():
    require_docker()
    if not os.access(SOCKPROXY, os.X_OK):
        raise Fail("no sockproxy binary at %s: the appliance cannot run without it" % SOCKPROXY)


def appliance(name):
    require_sockproxy()
    # no warm pool: a daemon killed here leaves no idle sandbox for the
    # next start's sweep, so the leftover check stays exact
    return Appliance(overrides=[("concurrency", "pool", "0")], name=name).start()


def tidy(*hs):
    """Remove a passed test's directories (a failure keeps them to read)."""
    for h in hs:
        shutil.rmtree(h.dir, ignore_errors=True)


def settle(a):
    """privd answers a run before it removes the sandbox: wait for that
    (under isolation jail the worker stays: for its run's processes)."""
    if a.isolation == "jail":
        deadline = time.time() + 20
        while a.worker_report() and time.time() < deadline:
            time.sleep(0.1)
        return
    deadline = time.time() + 20
    while a.leftovers() and time.time() < deadline:
        time.sleep(0.1)


def children(pid):
    """{comm: pid} of a process's children."""
    kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
    return {open("/proc/%s/comm" % k).read().strip(): int(k) for k in kids}


def frontd_pid(a):
    """privd has two children: frontd and its policy reader."""
    kids = children(a.procs["privd"].pid)
    check(sorted(kids) == ["codeward-frontd", "cw-policy-read"],
          "privd's children: %r" % kids)
    return kids["codeward-frontd"]


def reader_pid(a, daemon):
    """The policy reader a daemon forked at start (policy/reader.h)."""
    kids = children(a.procs[daemon].pid)
    check("cw-policy-read" in kids, "%s has no policy reader: %r" % (daemon, kids))
    return kids["cw-policy-read"]


def as_user(user, code):
    """Run Python code as user (no supplementary group): exit status 0 = it
    printed OK, else what it printed."""
    r = subprocess.run(["/usr/bin/python3", "-c", code], user=user, group=user,
                       extra_groups=[], capture_output=True, text=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).strip()


CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1] if len(sys.argv) > 1 else %r)
    print("CONNECTED")
except OSError as e:
    print("REFUSED", e.errno)
"""


def connect_as(user, path):
    rc, out = as_user(user, CONNECT % path)
    check(rc == 0, "probe as %s failed: %s" % (user, out))
    return out


def events(instance, since):
    """Container create events of one instance since a time (docker events)."""
    filt = json.dumps({"type": ["container"], "event": ["create"],
                       "label": ["codeward.instance=" + instance]})
    until = int(time.time()) + 1
    time.sleep(1.2)   # until must be in the past, or the API waits for it
    st, raw = docker_api("GET", "/v1.41/events?since=%d&until=%d&filters=%s"
                         % (since, until, _q(filt)))
    check(st == 200, "docker events: %d" % st)
    return [json.loads(l) for l in raw.decode().splitlines() if l.strip()]


# --- users and sockets ---------------------------------------------------------------

def test_three_users_confined():
    a = appliance("users")
    try:
        a.exec("bash", "echo up")
        uids = {
            "sockproxy": check_confined(a.procs["sockproxy"].pid, "codeward-proxy", "sockproxy"),
            "privd": check_confined(a.procs["privd"].pid, "codeward-priv", "privd"),
            "frontd": check_confined(frontd_pid(a), "codeward-front", "frontd"),
        }
        check(len(set(uids.values())) == 3 and 0 not in uids.values(), "uids %r" % uids)
        # each daemon's policy reader: its daemon's user, its own filter,
        # no supplementary group (sockproxy's reader drops the Docker group)
        for daemon, user in (("privd", "codeward-priv"), ("sockproxy", "codeward-proxy")):
            rpid = reader_pid(a, daemon)
            check(check_confined(rpid, user, "reader") == uids[daemon], "%s's reader" % daemon)
            st = open("/proc/%d/status" % rpid).read()
            groups = [l for l in st.splitlines() if l.startswith("Groups:")][0].split()[1:]
            check(groups == [], "%s's reader holds groups %r" % (daemon, groups))
        # sockproxy alone keeps the Docker socket's group
        dgid = os.stat(DOCKER_SOCK).st_gid
        for name, pid in (("privd", a.procs["privd"].pid), ("frontd", frontd_pid(a))):
            st = open("/proc/%d/status" % pid).read()
            groups = [l for l in st.splitlines() if l.startswith("Groups:")][0].split()[1:]
            check(str(dgid) not in groups, "%s holds the docker group: %r" % (name, groups))
        st = open("/proc/%d/status" % a.procs["sockproxy"].pid).read()
        groups = [l for l in st.splitlines() if l.startswith("Groups:")][0].split()[1:]
        check(groups == [str(dgid)], "sockproxy's groups %r, want only %d" % (groups, dgid))
    finally:
        a.stop()
    tidy(a)


def test_socket_permissions():
    a = appliance("perm")
    try:
        st = os.stat(a.sock)
        check(st.st_mode & 0o777 == 0o660, "sockproxy socket mode %o" % (st.st_mode & 0o777))
        check(st.st_uid == uid_of("codeward-proxy"), "sockproxy socket owner %d" % st.st_uid)
        import grp
        check(grp.getgrgid(st.st_gid).gr_name == "codeward-priv",
              "sockproxy socket group %d" % st.st_gid)
        out = connect_as("codeward-front", a.sock)
        check(out == "REFUSED 13", "frontd's user on sockproxy's socket: %s" % out)
        out = connect_as("codeward-priv", a.sock)
        check(out == "CONNECTED", "privd's user on sockproxy's socket (control): %s" % out)
        for user in ("codeward-priv", "codeward-front"):
            out = connect_as(user, DOCKER_SOCK)
            check(out == "REFUSED 13", "%s on the Docker socket: %s" % (user, out))
    finally:
        a.stop()
    tidy(a)


# --- seccomp in the running appliance ------------------------------------------------

def test_frontd_killed_by_sigsys_while_serving():
    """frontd holds its filter while serving, and when a filter kill ends it
    (SIGSYS, sent here by the test: tests/security/try_syscall.c shows which
    calls the filter kills), privd sees how and stops the pair cleanly."""
    a = appliance("sys-front")
    try:
        a.exec("bash", "echo up")
        pid = frontd_pid(a)
        check_filter(pid, "frontd")
        os.kill(pid, signal.SIGSYS)
        rc = wait_exit(a.procs["privd"], 20, "privd after frontd's death")
        check(rc == 0, "privd exit %r after frontd died" % rc)
        check("frontd was killed by signal %d (SIGSYS" % signal.SIGSYS in a.log("privd"),
              "frontd's SIGSYS not seen by privd:\n" + a.log("privd"))
    finally:
        a.stop()
    tidy(a)


def filter_while_serving(name):
    """A daemon the test started itself holds exactly its own filter in
    every thread after serving a run, and serves on after the check."""
    a = appliance("sys-" + name)
    try:
        a.exec("bash", "echo up")
        settle(a)
        check_filter(a.procs[name].pid, name)
        out = a.exec("bash", "echo again")
        check(out.get("stdout") == "again\n", "%s after the check: %r" % (name, out))
        check(a.procs[name].poll() is None, "%s ended after the check" % name)
    finally:
        a.stop()
    tidy(a)


def test_filter_privd_while_serving():
    filter_while_serving("privd")


def test_filter_sockproxy_while_serving():
    filter_while_serving("sockproxy")


# --- a hostile frontd makes privd create nothing ---------------------------------------

HOSTILE = ["begin-twice", "fd-on-run", "missing-files", "id-switch", "unterminated-name",
           "name-dotdot", "writable-file", "unknown-type", "empty"]


def chain(script, name):
    """Real sockproxy, real privd, the fake frontd playing script."""
    require_sockproxy()
    # no warm pool: privd then creates a sandbox only for a run it admitted.
    # isolation container: under jail privd makes its workers at start
    # whatever frontd says, so "privd created nothing" is seen only here;
    # privd's reading of frontd's frames is the same under both engines
    a = Appliance(overrides=[("concurrency", "pool", "0")], name=name, isolation="container")
    a.logs["sockproxy"] = open(os.path.join(a.dir, "sockproxy.log"), "wb+")
    a.procs["sockproxy"] = subprocess.Popen(
        a.sockproxy_argv(), stdout=a.logs["sockproxy"], stderr=subprocess.STDOUT)
    deadline = time.time() + 15
    while not os.path.exists(a.sock):
        if a.procs["sockproxy"].poll() is not None or time.time() > deadline:
            raise Fail("sockproxy did not start:\n" + a.log("sockproxy"))
        time.sleep(0.05)
    p = PrivdAlone(script, sockproxy=a.sock, policy_text=open(a.policy_path).read(),
                   name=name).start()
    return a, p


def test_hostile_frontd_creates_nothing():
    # control: the same chain, well-behaved, does create a container
    t0 = int(time.time()) - 1
    a, p = chain("control", "h-control")
    try:
        deadline = time.time() + 120
        while p.result() is None and time.time() < deadline and p.proc.poll() is None:
            time.sleep(0.1)
        r = p.result()
        # a run that asked for no session is told of none (IPC_SESS_NONE)
        check(r is not None and r.get("done", {}).get("status") == 0 and
              r["done"]["exit_code"] == 0 and r["done"]["session"] == 0,
              "control run: %r\n%s" % (r, p.text_log()))
        check(len(events(a.instance, t0)) >= 1, "control: no create event seen")
    finally:
        p.stop()
        a.stop()
    tidy(a, p)
    for i, script in enumerate(HOSTILE):
        t0 = int(time.time()) - 1
        a, p = chain(script, "h%d" % i)
        try:
            rc = wait_exit(p.proc, 30, "privd facing '%s'" % script)
            check(rc == 1 and "protocol violation" in p.text_log(),
                  "%s: privd exit %r\n%s" % (script, rc, p.text_log()))
            ev = events(a.instance, t0)
            check(ev == [], "%s: privd created %d container(s)" % (script, len(ev)))
            check(a.leftovers() == [], "%s: containers left" % script)
        finally:
            a.stop()
        tidy(a, p)


if __name__ == "__main__":
    main(globals())
