"""codeward-agent -j under runsc, in the worker sockproxy makes under the
policy's jail-runsc-caps (root, with gVisor's own SYS_ADMIN, SYS_CHROOT,
SETUID, SETGID and SETPCAP; tests/jail/test_jail.py's root_worker) and
started as the channel's exec is there, as 0:0: the agent works as the
owner of /mnt/data with root as its saved uid and runs each job's jail as
codeward-jail -u (jail/agent_root.c). Each job ends as the sandbox user
with no capability, finds nothing an earlier job left (a detached process,
files in /tmp, /dev/shm, /mnt/data), sees and signals no process of the
agent's; what a job writes is the sandbox user's, an input it changed
comes back and one it left does not; a timeout kills it and its jail's tree
and /tmp (a directory of the worker's /tmp) are taken down; sessions keep
one jail; and the same through sockproxy's own worker and channel.
Back-to-back print(1) jobs per second are printed, never asserted. Fails without Docker."""
import io
import os
import subprocess
import sys
import tarfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import test_agent as ta  # noqa: E402
import test_agent_session as ts  # noqa: E402
import test_jail as tj  # noqa: E402
import cwchannel as cw  # noqa: E402
from cwtest import DOCKER, check, main  # noqa: E402

# the job: who it is, what it can do, what it sees of the worker
WHOAMI = r"""
id -u; id -g
grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status | awk '{print $2}' | sort -u
cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' ' | grep -o 'bin/codeward-[a]gent' | wc -l
"""

LEAVE = ("setsid nohup sleep 3007 </dev/null >/dev/null 2>&1 &\n"
         "echo a > /tmp/leak; echo a > /dev/shm/leak; echo a > /mnt/data/leak; echo $$")

# the agent's pid as the container sees it, tried; then every process
# the job may signal, killed
HOSTILE = r"""
import os, signal
try:
    os.kill(%d, signal.SIGKILL)
    print("signalled", flush=True)
except OSError as e:
    print("refused", e.errno, flush=True)
os.kill(-1, signal.SIGKILL)
"""


def worker():
    cid = ta.agent_worker("runsc")
    p, ch = ta.start_agent(cid, uid=0)
    return cid, p, ch


def agent_pid(cid):
    rc, out, _ = tj.dexec(cid, ["sh", "-c", "for p in /proc/[0-9]*; do "
                                "tr '\\0' ' ' < $p/cmdline | grep -q '^/usr/local/bin/codeward-agent' "
                                "&& echo ${p#/proc/}; done"])
    pids = out.split()
    check(len(pids) == 1, "one agent in the worker: %r" % out)
    return int(pids[0])


def status_line(cid, pid, key):
    rc, out, _ = tj.dexec(cid, ["sh", "-c", "grep '^%s:' /proc/%d/status" % (key, pid)])
    return out.split()[1:]


def trees(cid):
    """the jails' trees under /srv, and the mounts below it (as root: ls(1)
    cannot statx a mount's root under this gVisor)"""
    rc, out, err = tj.dexec(cid, ["python3", "-c", "import os\nprint(*os.listdir('/srv'))\n"
                                  "print(sum(' /srv/' in l for l in open('/proc/self/mountinfo')))"])
    check(rc == 0, "list /srv: %s" % err)
    names, mounts = out.splitlines()
    return names.split(), int(mounts)


def jail_tmps(cid):
    """what is in the worker's /tmp, each jail's /tmp a directory there
    (jail/jail_gvisor.c), as the sandbox user who owns it"""
    rc, out, err = tj.dexec(cid, ["setpriv", "--reuid=%d" % tj.UID, "--regid=%d" % tj.UID,
                                  "--clear-groups", "python3", "-c",
                                  "import os; print(*sorted(os.listdir('/tmp')))"])
    check(rc == 0, "list the worker's /tmp: %s" % err)
    return out.split()


def test_agent_runsc_jobs():
    cid, p, ch = worker()
    pid = agent_pid(cid)
    check(status_line(cid, pid, "Uid") == ["0", "10001", "0", "10001"],
          "the agent: real and saved uid root, effective the sandbox user's: %r"
          % status_line(cid, pid, "Uid"))
    res = ch.run("py", "print(1)")
    check(res["code"] == 0 and res["stdout"] == b"1\n", "print(1) under runsc: %r" % res)
    check("cw_session.py --warm" not in ta.processes(cid), "no pre-warmed jail as root")
    res = ch.run("bash", WHOAMI)
    check(res["code"] == 0 and res["stdout"].split() == [b"10001", b"10001", b"0000000000000000", b"0"],
          "the job is 10001 with no capability and sees no agent: %r" % res)
    check(ch.run("bash", LEAVE)["stdout"].strip() == b"2", "job A in its own pid namespace")
    check("sleep 3007" not in ta.processes(cid), "job A's detached process is gone after it")
    check(jail_tmps(cid) == [], "job A's /tmp, a directory of the worker's, is gone: %r"
          % jail_tmps(cid))
    # ls(1) under this gVisor cannot statx a mount's root (test_jail.py)
    res = ch.run("py", "import os\nfor d in ('/tmp', '/dev/shm', '/mnt/data'): print(os.listdir(d))")
    check(res["code"] == 0 and b"leak" not in res["stdout"],
          "job B finds nothing of A in /tmp, /dev/shm or /mnt/data: %r" % res)
    res = ch.run("py", "import os\nopen('in.txt','a').write('y')\nopen('new.txt','w').write('n')\n"
                       "os.mkdir('d'); open('d/f','w').write('f')\n"
                       "print(*(os.stat(f).st_uid for f in ('in.txt','same','new.txt','d/f')))",
                 files=[("in.txt", b"x"), ("same", b"s")])
    check(res["code"] == 0 and res["stdout"] == b"10001 10001 10001 10001\n",
          "inputs staged, and the job's files, are the sandbox user's: %r" % res)
    check(cw.tar_members(res["archive"]) == {"data/in.txt": b"xy", "data/new.txt": b"n",
                                             "data/d/f": b"f", "data/.codeward/kept": b"same\n"},
          "a changed input and new files out, the untouched input only kept: %r"
          % cw.tar_members(res["archive"]))
    with tarfile.open(fileobj=io.BytesIO(res["archive"]), mode="r:") as tf:
        owners = {(m.uid, m.gid) for m in tf.getmembers()}
    check(owners == {(tj.UID, tj.UID)}, "the archive's entries are the sandbox user's: %r" % owners)
    rc, out, _ = tj.dexec(cid, ["setpriv", "--reuid=%d" % tj.UID, "--regid=%d" % tj.UID,
                                "--clear-groups", "python3", "-c",
                                "import os; print(os.stat('/mnt/data/.codeward-agent').st_uid)"])
    check(out.strip() == str(tj.UID), "the agent's job directories are not root's: %r" % out)
    res = ch.run("py", HOSTILE % pid)
    check(res["stdout"].startswith(b"refused"),
          "a job signals nothing of the agent's: %r" % res)
    check(p.poll() is None and agent_pid(cid) == pid, "the agent lives")
    check(ch.run("py", "print(1)")["stdout"] == b"1\n", "the next job runs")
    res = ch.run("bash", "echo a > /tmp/t; sleep 30", timeout_ms=500)
    check(res["reason"] == "timeout", "a job is killed at its timeout: %r" % res["reason"])
    check("sleep 30" not in ta.processes(cid), "nothing of the killed job is left")
    check(trees(cid) == ([], 0), "the killed jail's tree is taken down: %r" % (trees(cid),))
    check(jail_tmps(cid) == [], "the killed jail's /tmp is removed: %r" % jail_tmps(cid))
    n, t = 20, time.monotonic()
    for _ in range(n):
        check(ch.run("py", "print(1)")["stdout"] == b"1\n", "print(1)")
    print("runsc, root agent, back-to-back print(1): %.1f jobs/s" % (n / (time.monotonic() - t)))
    p.stdin.close()
    check(p.wait(30) == 0 and p.stderr.read() == b"",
          "the agent exits at the end of its stdin, nothing on its stderr")


def test_agent_runsc_refuses_unjailed():
    """as root without -j it would run jobs as root: it refuses"""
    cid = ta.agent_worker("runsc")
    rc, out, err = tj.dexec(cid, ["/usr/local/bin/codeward-agent"])
    check(rc == 70 and out == "", "a root agent without -j: rc %d %r" % (rc, out))


def runsc_sessions(name):
    """test_agent_session's NAME, on a runsc worker with a root agent"""
    saved = ta.agent_worker, ta.start_agent
    ta.agent_worker = lambda: saved[0]("runsc")
    ta.start_agent = lambda cid: saved[1](cid, uid=0)
    try:
        getattr(ts, name)()
    finally:
        ta.agent_worker, ta.start_agent = saved


def test_agent_runsc_session_files():
    runsc_sessions("test_session_files_and_other_languages")


def test_agent_runsc_session_timeout():
    runsc_sessions("test_session_timeout_then_fresh")


def test_agent_runsc_through_sockproxy():
    """The worker and the agent's channel made by sockproxy itself under
    jail-runsc-caps (the agent's image pinned in the policy), print(1)
    jobs back to back over the hijacked channel: jobs per second printed."""
    import json
    import socket
    import sp_harness as h
    from jailprofile import jail_profile
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sockproxy"))
    import test_channel as tc
    ta.agent_worker("runsc")		# builds the agent's image
    image = subprocess.run([DOCKER, "image", "inspect", "-f", "{{.Id}}", ta.TAG],
                           capture_output=True, text=True, check=True).stdout.strip()
    h.ensure_users()
    d = h.workdir()
    prof, digest = jail_profile(d)
    policy = h.write_policy(d, image, {
        "pids": str(ta.RUNSC_AGENT_PIDS), "runtime": "runsc", "isolation": "jail",
        "jail-seccomp": digest, "jail-runsc-caps": "SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP"})
    px = h.Proxy(d, h.DOCKER_SOCK, policy, tj.INSTANCE + "-spa", args=["--jail-seccomp", prof])
    try:
        px.wait_ready()
        st, _, out = h.call(px.listen, "POST", "/v1.41/containers/create",
                            h.create_body(image, pids=ta.RUNSC_AGENT_PIDS))
        check(st == 201, "create: %d %r" % (st, out))
        cid = json.loads(out)["Id"]
        tj._containers.append(cid)
        st, _, out = h.call(px.listen, "POST", "/v1.41/containers/%s/start" % cid)
        check(st == 204, "start: %d %r" % (st, out))
        s, ch, _ = tc.open_channel(px.listen, cid, jail=True)
        ch.hello()
        res = ch.run("bash", WHOAMI)
        check(res["code"] == 0 and res["stdout"].split()[:3] == [b"10001", b"10001", b"0000000000000000"],
              "through sockproxy: the job is 10001 with no capability: %r" % res)
        res = ch.run("py", "open('o.txt','w').write('o')", files=[("in.txt", b"x")])
        check(cw.tar_members(res["archive"]) == {"data/o.txt": b"o", "data/.codeward/kept": b"in.txt\n"},
              "through sockproxy: files out: %r" % res)
        n, t = 20, time.monotonic()
        for _ in range(n):
            check(ch.run("py", "print(1)")["stdout"] == b"1\n", "print(1)")
        print("runsc, root agent, through sockproxy's channel, back-to-back print(1): %.1f jobs/s"
              % (n / (time.monotonic() - t)))
        s.shutdown(socket.SHUT_WR)
        check(s.recv(1) == b"", "closing privd's side ends the channel")
        s.close()
    finally:
        px.stop()


if __name__ == "__main__":
    main(globals())
