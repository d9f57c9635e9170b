"""Isolation between executions under policy isolation jail (issue 15),
through POST /v1/exec of a whole appliance on the real engine:

    test_isolation_api.py [jail|container] [TEST...]      (default: jail)

Under jail one worker (pool 1, reuse 1000), checked on the engine before and
after, so that consecutive executions land on the same worker; under
container the same checks, each execution in a container of its own.

Execution A leaves everything it can: a detached background process (setsid,
nohup, a double fork), files in /tmp, /dev/shm, /mnt/data and $HOME, a SysV
shared-memory segment and a message queue, a listening abstract unix socket;
A itself then looks for them (the control: the finder can see each one).
The next stateless execution, of another user and then of the same user,
finds none of them, and no process with A's marker in its argv is left on
the host. An execution that kills every process it can see (kill(-1, 9), a
walk of /proc) or writes garbage into every descriptor it can find (0..1023,
/proc/self/fd, /proc/*/fd) breaks neither the next execution nor its result.

No Docker engine: every test fails (cwtest.require_docker), none is skipped.
"""
import hashlib
import json
import os
import secrets
import sys
import time

from cwtest import Shared, check, containers_with_label, main

USER_A = "6650f1c2a1b2c3d4e5f6aaaa"
USER_B = "6650f1c2a1b2c3d4e5f6bbbb"
MARK = "cwiso" + secrets.token_hex(6)
# jail (the case: one worker serves them all) or container (the
# same checks where each execution has a container of its own)
ISOLATION = sys.argv.pop(1) if len(sys.argv) > 1 and sys.argv[1] in ("jail", "container") else "jail"


setup = Shared(isolation=ISOLATION, name="iso-api",
               # one run at a time: one worker (the larger of pool and total)
               overrides=[("concurrency", "total", "1"), ("concurrency", "per-user", "1"),
                          ("concurrency", "pool", "1"), ("sandbox", "reuse", "1000"),
                          ("time", "default", "20s")])


def workers(settle_s=30):
    """the appliance's containers on the engine, once their number holds at one"""
    a = setup()
    deadline = time.time() + settle_s
    while True:
        ids = containers_with_label("codeward.instance=" + a.instance)
        if len(ids) == 1 or time.time() > deadline:
            return ids
        time.sleep(0.2)


def run(code, user, lang="py"):
    st, j = setup().request("POST", "/v1/exec", {"lang": lang, "code": code, "user_id": user})
    check(st == 200, "exec answered %s: %r" % (st, j))
    return j


# What of A an execution can find, as JSON; every name carries the marker.
FIND = r"""
import errno, json, os, socket
M = %r
home = os.environ.get("HOME") or "/"
def mine(d):
    try:
        return sorted(n for n in os.listdir(d) if M in n)
    except OSError as e:
        return []
r = {"tmp": mine("/tmp"), "shm": mine("/dev/shm"), "data": mine("/mnt/data"),
     "home": mine(home)}
for k in ("shm", "msg"):
    try:
        with open("/proc/sysvipc/" + k) as f:
            r["sysv_" + k] = f.read().splitlines()[1:]
    except OSError as e:
        r["sysv_" + k] = ["unreadable: %%s" %% e]
c = socket.socket(socket.AF_UNIX)
c.settimeout(5)
try:
    rc = c.connect_ex("\0" + M)
except socket.timeout:
    rc = 0   # a listener whose queue is full
r["abstract"] = "connected" if rc == 0 else errno.errorcode.get(rc, str(rc))
with open("/proc/net/unix") as f:
    r["abstract_listed"] = ("@" + M) in f.read()
procs = []
# /proc may be the worker's (its pid namespace, not the jail's): this
# process by the number that /proc gives it, never by os.getpid()
me = os.readlink("/proc/self")
for p in os.listdir("/proc"):
    if p.isdigit() and p != me:
        try:
            with open("/proc/%%s/cmdline" %% p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if M in cmd:
            procs.append(cmd)
r["procs"] = procs
print("FOUND " + json.dumps(r))
""" % MARK

# Execution A (bash): everything it can leave, then its own view of it.
LEAVE = r"""
set -e
M=%s
setsid nohup sh -c "sleep 3001; : $M-setsid" </dev/null >/dev/null 2>&1 &
nohup python3 -c 'import time; time.sleep(3002)' "$M-nohup" </dev/null >/dev/null 2>&1 &
python3 -c '
import os, sys, time
if os.fork(): os._exit(0)
os.setsid()
if os.fork(): os._exit(0)
for fd in (0, 1, 2): os.close(fd)
time.sleep(3003)' "$M-doublefork"
setsid python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind("\0" + sys.argv[1]); s.listen(64)
while True: s.accept()[0].close()' "$M" </dev/null >/dev/null 2>&1 &
echo a > /tmp/$M-tmp; echo a > /dev/shm/$M-shm; echo a > /mnt/data/$M-data
(echo a > "${HOME:-/}/$M-home") 2>/dev/null && echo home-written
ipcmk -M 4096 >/dev/null; ipcmk -Q >/dev/null
for i in $(seq 100); do
  grep -q "@$M" /proc/net/unix && pgrep -f -- "$M-setsid" >/dev/null && pgrep -f -- "$M-nohup" >/dev/null \
    && pgrep -f -- "$M-doublefork" >/dev/null && break
  sleep 0.05
done
python3 - <<'EOF'
%s
EOF
""" % (MARK, FIND)


def found(j):
    lines = [x for x in j["stdout"].splitlines() if x.startswith("FOUND ")]
    check(len(lines) == 1, "no finder's answer: %r (stderr %r)" % (j["stdout"][-500:], j["stderr"][-500:]))
    return json.loads(lines[0][6:])


def leftovers(r):
    out = {k: v for k, v in r.items()
           if k in ("tmp", "shm", "data", "home", "sysv_shm", "sysv_msg", "procs") and v}
    if r["abstract"] != "ECONNREFUSED" or r["abstract_listed"]:
        out["abstract"] = r["abstract"]
    return out


def host_procs():
    """processes on this host with the marker in their argv (under runc a
    worker's processes are the host's)"""
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if MARK in cmd:
                out.append("%s: %s" % (p, cmd))
    return out


def leave(user):
    j = run(LEAVE, user, lang="bash")
    r = found(j)
    seen = leftovers(r)
    want = ["tmp", "shm", "data", "sysv_shm", "sysv_msg", "procs", "abstract"]
    if "home-written" in j["stdout"]:
        want.append("home")
    missing = [k for k in want if k not in seen]
    check(not missing, "control: A does not see its own %s: %s" % (missing, r))
    check(len(r["procs"]) >= 4, "control: A sees %d of its 4 background processes: %r"
          % (len(r["procs"]), r["procs"]))
    return j


def next_finds_nothing(user, who):
    deadline = time.time() + 5
    while host_procs() and time.time() < deadline:
        time.sleep(0.1)
    left = host_procs()
    check(left == [], "A's background processes outlived its answer: %s" % left)
    r = found(run(FIND, user))
    lo = leftovers(r)
    check(lo == {}, "the next execution of %s found what A left: %s" % (who, lo))
    check(r["abstract"] == "ECONNREFUSED", "connect to A's abstract socket: %s" % r["abstract"])


def test_isolation_between_executions():
    w0 = workers()
    if ISOLATION == "jail":
        check(len(w0) == 1, "one worker (pool 1): %r" % w0)
    leave(USER_A)
    next_finds_nothing(USER_B, "another user")
    leave(USER_A)
    next_finds_nothing(USER_A, "the same user")
    if ISOLATION == "jail":
        check(workers() == w0, "the executions ran on one worker: %r, then %r" % (w0, workers()))


# The reference: a result that depends on nothing but the program.
REF = ("import hashlib, os\n"
       "open('/mnt/data/ref.txt', 'w').write('r' * 1000)\n"
       "print(hashlib.sha256(b'x' * 10**6).hexdigest(), sum(range(10**5)), sorted(os.listdir('/mnt/data')))\n")

KILL = r"""
import os, signal
me = os.getpid()
n = 0
for p in os.listdir("/proc"):
    if p.isdigit() and int(p) != me:
        try:
            os.kill(int(p), signal.SIGKILL); n += 1
        except OSError:
            pass
print("killed", n, flush=True)
os.kill(-1, signal.SIGKILL)
"""

SCRIBBLE = r"""
import os
junk = os.urandom(4096) + b"\0\xff" * 512 + b"\x00\x00\x00\x10" * 64
fds = set(range(1024))
for d in ["/proc/self/fd"] + ["/proc/%s/fd" % p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        for f in os.listdir(d):
            path = os.path.join(d, f)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                fds.add(fd)
                os.write(fd, junk)
            except OSError:
                pass
    except OSError:
        pass
for fd in sorted(fds):
    for _ in range(4):
        try:
            os.write(fd, junk)
        except OSError:
            break
"""


def same_result(j, ref, after):
    got = (j["stdout"], j["stderr"], sorted(f["name"] for f in j.get("files") or []))
    check(got == ref, "after %s the next execution answered %r, not %r" % (after, got, ref))


def hostile_then_reference(code, lang, after):
    j = run(REF, USER_A)
    ref = (j["stdout"], j["stderr"], sorted(f["name"] for f in j.get("files") or []))
    want = "%s 4999950000 ['ref.txt']\n" % hashlib.sha256(b"x" * 10 ** 6).hexdigest()
    check(j["stdout"] == want and ref[2] == ["ref.txt"], "the reference run: %r" % (j,))
    st, h = setup().request("POST", "/v1/exec", {"lang": lang, "code": code, "user_id": USER_B})
    check(st == 200, "the hostile run (%s) answered %s: %r" % (after, st, h))
    for _ in range(2):
        same_result(run(REF, USER_A), ref, after)
    st, _ = setup().request("GET", "/v1/health", auth=False)
    check(st == 200, "health after %s: %s" % (after, st))


def test_killing_everything_breaks_nothing():
    hostile_then_reference(KILL, "py", "kill(-1, 9) and a /proc walk")
    hostile_then_reference("for p in /proc/[0-9]*; do kill -9 ${p#/proc/}; done; kill -9 -1; echo alive",
                           "bash", "kill -9 of every pid in bash")


def test_scribbling_on_every_fd_breaks_nothing():
    hostile_then_reference(SCRIBBLE, "py", "garbage into every descriptor")
    hostile_then_reference('for f in /proc/[0-9]*/fd/* /dev/fd/*; do (head -c 4096 /dev/urandom >> "$f") '
                           '2>/dev/null; done; echo done', "bash", "garbage into every fd in bash")


def test_zz_stop_leaves_nothing():
    setup()
    setup.stop()
    check(host_procs() == [], "marked processes after stop: %s" % host_procs())


if __name__ == "__main__":
    main(globals(), setup)
