#!/usr/bin/python3
"""sockproxy's own confinement (security): the privilege drop, the listening
socket's owner and mode, the seccomp filter (exactly sockproxy's, which
try-syscall shows killing its forbidden calls), fail-closed start-up, the
start-up sweep, and the connection and header-time caps."""
import json
import os
import pwd
import re
import select
import socket
import subprocess
import sys
import time

import sp_harness as h
from cwsec import daemon_filter, running_filter
from sp_mock import Mock

check = h.check


def status(pid):
    out = {}
    for line in open("/proc/%d/status" % pid):
        k, _, v = line.partition(":")
        out[k] = v.split()
    return out


def connect_as(user, path):
    """connect() as another user, in a child; returns the errno or 0."""
    pw = pwd.getpwnam(user)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
        except OSError as e:
            code = e.errno
        os._exit(code)
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st)


def start_fails(args_edit=None, env=None, mock_image=None, policy_edits=None, why=""):
    d = h.workdir()
    mock = Mock(os.path.join(d, "docker.sock"), image=mock_image or h.FAKE_IMAGE)
    policy = h.write_policy(d, h.FAKE_IMAGE, policy_edits)
    args = [h.SOCKPROXY, "--listen", os.path.join(d, "sp.sock"), "--upstream", mock.path,
            "--policy", policy, "--instance", h.instance_name("priv")]
    if args_edit:
        args = args_edit(d, args)
    e = dict(os.environ)
    e.update(env or {})
    try:
        p = subprocess.run(args, capture_output=True, timeout=30, env=e)
    except subprocess.TimeoutExpired:
        check(False, "start-up does not fail: " + why)
        return
    finally:
        mock.close()
    check(p.returncode != 0, "exits non-zero (%d) when %s: %s" %
          (p.returncode, why, p.stderr.decode(errors="replace").strip().splitlines()[-1:]))


def main():
    h.ensure_users()
    proxy = pwd.getpwnam("codeward-proxy")
    d = h.workdir()
    mock = Mock(os.path.join(d, "docker.sock"))
    inst = h.instance_name("priv")
    # leftovers: two of this instance, one of another
    for n, i in ((1, inst), (2, inst), (3, "someone-else")):
        mock.containers["%064x" % n] = {"Image": h.FAKE_IMAGE, "Labels": {"codeward.instance": i}}
    px = h.Proxy(d, mock.path, h.write_policy(d, h.FAKE_IMAGE), inst)
    try:
        px.wait_ready()
        # the sweep runs while sockproxy already serves: wait for it
        end = time.time() + 10
        while True:
            sent = mock.since((0, 0))
            dels = sorted(r.split(b" ")[1] for r in sent if r.startswith(b"DELETE "))
            if len(dels) >= 2 or time.time() > end:
                break
            time.sleep(0.05)
        check(dels == [b"/v1.41/containers/%064x?force=1&v=1" % 1,
                       b"/v1.41/containers/%064x?force=1&v=1" % 2],
              "start-up sweep removes exactly this instance's leftovers (%r)" % dels)
        check(list(mock.containers) == ["%064x" % 3], "another instance's container is untouched")
        # the generation: on every answer it writes, the one its log names,
        # its own (a hash of the owner secret, so another process's differs)
        st, hdrs, _ = h.call(px.listen, "GET", "/v1.41/containers/json")
        st2, hdrs2, _ = h.call(px.listen, "DELETE", "/v1.41/containers/%064x" % 9)
        gen = hdrs.get("x-codeward-generation", "")
        check(st == 200 and st2 == 404 and re.fullmatch("[0-9a-f]{32}", gen) is not None and
              hdrs2.get("x-codeward-generation") == gen and "generation " + gen in px.logtext(),
              "generation %r, %r on a refusal" % (gen, hdrs2.get("x-codeward-generation")))

        s = status(px.p.pid)
        check(s["Uid"] == [str(proxy.pw_uid)] * 4, "runs as codeward-proxy (%s)" % s["Uid"])
        check(s["Gid"] == [str(proxy.pw_gid)] * 4, "with its own group (%s)" % s["Gid"])
        check(s["Groups"] == [str(h.gid("codeward-priv"))],
              "and exactly one supplementary group, the upstream socket's (%s)" % s["Groups"])
        check(all(int(s[k][0], 16) == 0 for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")),
              "no capability in any set")
        check(s["NoNewPrivs"] == ["1"], "no_new_privs set")
        check(s["Seccomp"] == ["2"], "a seccomp filter is loaded")
        # what the test trigger proved, without it: the filter it holds is
        # exactly sockproxy/filter.c's, the one try-syscall shows killing
        # socket(AF_INET) (and the rest of its forbidden calls)
        check(running_filter(px.p.pid) == daemon_filter("sockproxy"),
              "the filter it holds is sockproxy's own")

        st = os.stat(px.listen)
        check(st.st_uid == proxy.pw_uid and st.st_gid == h.gid("codeward-priv") and
              (st.st_mode & 0o7777) == 0o660,
              "listening socket is codeward-proxy:codeward-priv 0660 (%o)" % st.st_mode)
        check(connect_as("codeward-front", px.listen) == 13, "codeward-front cannot connect (EACCES)")
        check(connect_as("codeward-priv", px.listen) == 0, "codeward-priv can connect")

        # the connection cap: SP_CONN_MAX idle connections, then one more
        # (after the connections above have surely been served and closed)
        time.sleep(1)
        idle = []
        for _ in range(64):
            c = socket.socket(socket.AF_UNIX)
            c.connect(px.listen)
            c.sendall(b"GET /v1.41/containers/json HTTP/1.1\r\n")
            idle.append(c)
        time.sleep(0.5)
        ready, _, _ = select.select(idle, [], [], 0)
        check(not ready, "64 idle connections are held open (%d answered early)" % len(ready))
        st, _, out = h.call(px.listen, "GET", "/v1.41/containers/json")
        check(st == 503, "connection 65 is answered 503 at once (%d)" % st)
        t0 = time.time()
        idle[0].settimeout(15)
        resp = b""
        while True:
            x = idle[0].recv(4096)
            if not x:
                break
            resp += x
        check(resp.startswith(b"HTTP/1.1 408") and time.time() - t0 < 12,
              "a head not finished within 10 s is answered 408 (%r)" % resp[:20])
        for c in idle:
            c.close()
        time.sleep(0.3)
        st, _, _ = h.call(px.listen, "GET", "/v1.41/containers/json")
        check(st == 200, "serving again once the idle connections are gone (%d)" % st)
    finally:
        px.stop()
        mock.close()

    # stderr on a character device: stdio asks isatty() on every log line
    d = h.workdir()
    mock = Mock(os.path.join(d, "docker.sock"))
    p = subprocess.Popen([h.SOCKPROXY, "--listen", os.path.join(d, "sp.sock"), "--upstream",
                          mock.path, "--policy", h.write_policy(d, h.FAKE_IMAGE),
                          "--instance", h.instance_name("priv")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(os.path.join(d, "sp.sock")) and \
                    b"Seccomp:\t2" in open("/proc/%d/status" % p.pid, "rb").read():
                break
            time.sleep(0.05)
        time.sleep(0.3)
        st, _, _ = h.call(os.path.join(d, "sp.sock"), "GET", "/v1.41/_ping")
        time.sleep(0.2)
        check(st == 403 and p.poll() is None,
              "with stderr on /dev/null, a logged refusal does not kill it (%d, %s)" % (st, p.poll()))
    finally:
        p.kill()
        p.wait()
        mock.close()

    start_fails(lambda d, a: a[:6] + ["/nonexistent/policy"] + a[7:], why="the policy is missing")
    start_fails(policy_edits={"memory": "lots"}, why="the policy does not parse")
    start_fails(mock_image="sha256:" + "cd" * 32, why="a policy image is not on the engine")
    start_fails(lambda d, a: a[:4] + ["/etc/passwd"] + a[5:], why="the upstream is not a socket")
    start_fails(lambda d, a: a[:8] + ["Bad/Name"], why="the instance name is not [a-z0-9_-]")

    def dead_upstream(d, a):
        s = socket.socket(socket.AF_UNIX)
        s.bind(os.path.join(d, "dead.sock"))
        os.chown(os.path.join(d, "dead.sock"), 0, h.gid("codeward-priv"))
        return a[:4] + [os.path.join(d, "dead.sock")] + a[5:]
    start_fails(dead_upstream, why="nothing answers on the upstream socket")

    def listen_file(d, a):
        open(os.path.join(d, "sp.sock"), "w").close()
        return a
    start_fails(listen_file, why="the listen path is a regular file")

    def root_group(d, a):
        os.chown(a[4], 0, 0)
        return a
    start_fails(root_group, why="the upstream socket belongs to group root")

    return h.summary()


if __name__ == "__main__":
    sys.exit(main())
