#!/usr/bin/python3
"""A worker of policy `isolation jail` through sockproxy on the real dockerd
(integration; fails without Docker). sockproxy reads the workers' seccomp
profile (jail/seccomp-jail.py over the engine's default) at start, refuses
to start without it or when its sha256 is not the policy's jail-seccomp,
and writes it as SecurityOpt seccomp= on the container (inspected back). In
that worker the shipped sandbox image's own codeward-agent, started on the
jail channel (?jail=1), runs each job in a fresh codeward-jail: a job that
leaves files in /tmp, /dev/shm, /mnt/data and $HOME and a detached process
leaves nothing the next job can see. Then privd's own side of the channel
(privd/worker.c and privd/chan.c, driven by sp_worker) runs two jobs on a
worker of its own: the output memfd holds Docker's stream with headers privd
wrote, the archive the changed input and the kept list."""
import os
import subprocess
import sys
import time

import sp_harness as h
import test_channel as tc

sys.path.insert(0, os.path.join(h.SOURCE, "tests", "lib"))
from jailprofile import jail_profile  # noqa: E402

check = h.check

LEAVE = r"""
import os, subprocess
for d in ("/tmp", "/dev/shm", "/mnt/data", os.environ.get("HOME", "/tmp")):
    open(os.path.join(d, "left-behind"), "w").write("x")
subprocess.Popen(["sleep", "314159"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("left")
"""

FIND = r"""
import os
found = [d for d in ("/tmp", "/dev/shm", "/mnt/data", os.environ.get("HOME", "/tmp"))
         if os.path.exists(os.path.join(d, "left-behind"))]
sleepers = []
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            if open("/proc/%s/cmdline" % p, "rb").read() == b"sleep\x00314159\x00":
                sleepers.append(p)
        except OSError:
            pass
print("found", found, "sleepers", sleepers)
"""


def refused_start(d, policy, inst, args, why):
    px = h.Proxy(d, h.DOCKER_SOCK, policy, inst + "-x", args=args)
    rc = px.wait_exit(30)
    check(rc != 0 and why in px.logtext(), "sockproxy refuses to start: %s (%s)"
          % (why, px.logtext()[-300:].strip()))


def main():
    h.ensure_users()
    image = h.sandbox_image()
    r = subprocess.run([h.DOCKER, "run", "--rm", "--network", "none", "--entrypoint", "test", image,
                        "-x", "/usr/local/bin/codeward-agent", "-a", "-x", "/usr/local/bin/codeward-jail"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        h.fail("the sandbox image %s does not carry codeward-agent and codeward-jail "
               "(sandbox/Dockerfile builds them): %s" % (image, r.stderr.strip()))
    d = h.workdir()
    inst = h.instance_name("jailw")
    prof, digest = jail_profile(d)
    policy = h.write_policy(d, image, {"isolation": "jail", "jail-seccomp": digest})
    refused_start(h.workdir(), policy, inst, [], "the workers' seccomp profile is needed")
    other = os.path.join(d, "other.json")
    with open(prof) as f, open(other, "w") as g:
        g.write(f.read() + "\n")
    refused_start(h.workdir(), policy, inst, ["--jail-seccomp", other], "the policy pins")
    px = h.Proxy(d, h.DOCKER_SOCK, policy, inst, args=["--jail-seccomp", prof])
    try:
        px.wait_ready()
        cid = tc.create_worker(px.listen, image)
        hc = h.docker_inspect(cid)["HostConfig"]
        with open(prof) as f:
            want = ["no-new-privileges", "seccomp=" + f.read()]
        check(hc["SecurityOpt"] == want, "the worker has the jail's profile, nothing else")
        s, ch, _ = tc.open_channel(px.listen, cid, jail=True)
        ch.hello()
        res = ch.run("py", LEAVE)
        check(res["stdout"] == b"left\n" and res["code"] == 0,
              "a jailed job leaves its traces: %r" % res["stdout"])
        res = ch.run("py", FIND)
        check(res["stdout"] == b"found [] sleepers []\n",
              "the next job finds none of them: %r" % res["stdout"])
        res = ch.run("py", "print(1)")
        check(res["stdout"] == b"1\n", "the worker serves a third job")
        t0, ok = time.time(), 0
        for _ in range(20):
            ok += ch.run("py", "print(1)")["stdout"] == b"1\n"
        check(ok == 20, "20 more jailed print(1) jobs: %d right" % ok)
        print("jailed jobs/s over the channel (printed, never asserted): %.1f"
              % (20 / (time.time() - t0)))
        s.close()
        # privd's own side (privd/worker.c, privd/chan.c) on a worker of its own
        out, arc = os.path.join(d, "out"), os.path.join(d, "arc")
        r = subprocess.run([os.environ["CW_SP_WORKER"], policy, px.listen, out, arc],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0 and "job 1: exit 0 kill 0" in r.stdout and
              "job 2: exit 5" in r.stdout, "privd's channel: two jobs, the second finds "
              "nothing of the first: %r %r" % (r.stdout, r.stderr[-500:]))
        with open(out, "rb") as f:
            check(f.read() == b"\x01\0\0\0\0\0\0\x06hello\n",
                  "the output memfd holds Docker's stream, headers written by privd")
        with open(arc, "rb") as f:
            got = tc.cw.tar_members(f.read())
        check(got == {"data/in.txt": b"xy", "data/.codeward/kept": b"same.txt\n"},
              "the archive memfd: the changed input, the unchanged one listed kept: %r" % got)
    finally:
        px.stop()
        h.docker_cleanup(inst)
        print(px.logtext()[-2000:])
    return h.summary()


if __name__ == "__main__":
    sys.exit(main())
