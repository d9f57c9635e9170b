"""codeward-agent -j in a worker built as tests/jail/test_jail.py builds one
(sockproxy's walls plus the jail's seccomp profile), from a test image FROM
the sandbox image with codeward-jail and codeward-agent (never the shipped
tag; the worktree's runner files over the image's), spoken to over
`docker exec -i` with the channel's frames (tests/lib/cwchannel.py): each job runs in a fresh jail, so what one job
leaves (a detached process, files in /tmp and /mnt/data) is gone for the
next; a hostile job that kills every pid it sees and writes into every
descriptor it can open leaves the agent, its channel and the next job
intact; an input file changed in the jail comes back in the archive; the
worker's zygote runs beside the agent (test_agent_zygote.py tests it).
Fails without Docker."""
import atexit
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import test_jail as tj  # noqa: E402
import cwchannel as cw  # noqa: E402
from cwtest import BUILD, DOCKER, SOURCE, check, docker_api, main, sandbox_image_id  # noqa: E402

TAG = tj.IMAGE_TAG + "-agent"
_procs = []


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
    for cid in tj._containers:	# before the image they run
        docker_api("DELETE", "/v1.41/containers/%s?force=1&v=1" % cid)
    docker_api("DELETE", "/v1.41/images/%s?force=1&noprune=0" % TAG)


atexit.register(_cleanup)


# the worktree's runner files that the agent's jobs use, over the image's
RUNNER = (("cw-run", "/usr/local/lib/codeward/cw-run"),
          ("python/cw_session.py", "/usr/local/lib/codeward/python/cw_session.py"),
          ("python/cw_zygote.py", "/usr/local/lib/codeward/python/cw_zygote.py"),
          ("python/cw_jzygote.py", "/usr/local/lib/codeward/python/cw_jzygote.py"))


# Under runsc the agent's worker gets pids 1024, the policy's floor for
# isolation jail with runsc: at 256, back-to-back jobs through the agent
# took the whole sandbox down (the container exited, code 2) in about one
# run in four of test_agent_runsc.py; at 1024, none in sixteen (SECURITY.md,
# the agent under runsc; test_runsc_pids.py).
RUNSC_AGENT_PIDS = 1024


def agent_worker(runtime="runc"):
    """The worker of RUNTIME with the agent's image; under runsc as
    sockproxy makes it under jail-runsc-caps (root, gVisor's capabilities)."""
    tj.setup()			# the jail's profile, its own image and clean-up
    ctx = tempfile.mkdtemp(prefix="cwagent-")
    files = [(os.path.join(BUILD, "jail", name), name, "/usr/local/bin/" + name)
             for name in ("codeward-jail", "codeward-agent")]
    files.append((os.path.join(BUILD, "jail", "libcwjail.so"), "libcwjail.so",
                  "/usr/local/lib/codeward/libcwjail.so"))
    files += [(os.path.join(SOURCE, "sandbox", "runner", src), os.path.basename(src), dst)
              for src, dst in RUNNER]
    lines = ["FROM %s" % sandbox_image_id()]
    for src, name, dst in files:
        with open(src, "rb") as f, open(os.path.join(ctx, name), "wb") as g:
            g.write(f.read())
        os.chmod(os.path.join(ctx, name), 0o755)
        lines.append("COPY %s %s" % (name, dst))
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([DOCKER, "build", "-q", "-t", TAG, ctx], capture_output=True, text=True)
    check(r.returncode == 0, "docker build: %s" % r.stderr)
    saved, tj.IMAGE_TAG = tj.IMAGE_TAG, TAG
    try:
        return tj.root_worker(RUNSC_AGENT_PIDS) if runtime == "runsc" else tj.worker("runc")
    finally:
        tj.IMAGE_TAG = saved


def start_agent(cid, uid=tj.UID):
    """The agent as the channel's exec starts it: as UID (0 under runsc)."""
    p = subprocess.Popen([DOCKER, "exec", "-i", "-u", "%d:%d" % (uid, uid), cid,
                          "/usr/local/bin/codeward-agent", "-j"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _procs.append(p)

    def write(b):
        p.stdin.write(b)
        p.stdin.flush()
    ch = cw.Channel(lambda n: os.read(p.stdout.fileno(), n), write)
    ch.hello()
    return p, ch


def processes(cid):
    rc, out, _ = tj.dexec(cid, ["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"])
    return out


def zygote_pids(cid):
    """The zygote's pid in the worker (not in any job's jail)."""
    rc, out, _ = tj.dexec(cid, ["sh", "-c", "for p in /proc/[0-9]*; do "
                                "grep -qa 'cw_[j]zygote' $p/cmdline 2>/dev/null && echo ${p#/proc/}; "
                                "done"])
    return [int(x) for x in out.split()]


def wait_zygote(cid, ch, secs=60):
    """Until the zygote has its imports done: a py job then runs in it (its
    parent's pid in the jail is the jail's init, 1, either way; a zygote's
    child has numpy imported before its first line)."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        res = ch.run("py", "import sys; print('numpy' in sys.modules)")
        if res["stdout"] == b"True\n":
            return True
        time.sleep(0.5)
    return False


def test_agent_jailed_jobs():
    cid = agent_worker()
    p, ch = start_agent(cid)
    res = ch.run("bash", "setsid nohup sleep 3007 </dev/null >/dev/null 2>&1 &\n"
                         "echo a > /tmp/leak; echo a > /mnt/data/leak; echo $$")
    check(res["code"] == 0 and res["stdout"].strip() == b"2",
          "job A in its own pid namespace (pid 2): %r" % res)
    check("sleep 3007" not in processes(cid), "job A's detached process is gone after it")
    check(zygote_pids(cid), "the worker's zygote runs: %r" % processes(cid))
    res = ch.run("bash", "ls -A /tmp /mnt/data")
    check(res["code"] == 0 and b"leak" not in res["stdout"],
          "job B finds nothing of A in /tmp or /mnt/data: %r" % res["stdout"])
    res = ch.run("bash", tj.HOSTILE)
    check(res["reason"] == "none", "the hostile job ended by itself: %r" % res)
    res = ch.run("py", "open('in.txt','a').write('y')", files=[("in.txt", b"x"), ("same", b"s")])
    check(res["code"] == 0 and cw.tar_members(res["archive"]) == {"data/in.txt": b"xy",
                                                          "data/.codeward/kept": b"same\n"},
          "after the hostile job: the next runs, its changed input comes back: %r"
          % ((res["stderr"], cw.tar_members(res["archive"])),))
    # names ustar's fields cannot hold go behind a PAX path, as the
    # engine's archive carries them (frontd skips a component over 100
    # bytes, counted); a path over 255 bytes is left out, as sockproxy does
    deep = "a" * 100 + "/" + "b" * 100 + "/" + "c" * 40
    res = ch.run("bash", "cd /mnt/data && echo l > %s && echo u > %s && "
                         "mkdir -p %s && echo d > %s/x && echo far > %s/%s"
                 % ("L" * 150, "\u00e9" * 60, deep.rsplit("/", 1)[0], deep.rsplit("/", 1)[0],
                    deep.rsplit("/", 1)[0], "f" * 60))
    got = cw.tar_members(res["archive"])
    want = {"data/" + "L" * 150: b"l\n", "data/" + "\u00e9" * 60: b"u\n",
            "data/" + deep.rsplit("/", 1)[0] + "/x": b"d\n"}
    check(res["code"] == 0 and got == want,
          "long names behind PAX paths, the one over 255 bytes left out: %r"
          % ((res["stderr"], sorted((k[:20], len(k.encode())) for k in got)),))
    res = ch.run("bash", "sleep 30", timeout_ms=500)
    check(res["reason"] == "timeout", "a jailed job is killed at its timeout: %r" % res["reason"])
    check("sleep 30" not in processes(cid), "nothing of the killed job is left")
    p.stdin.close()
    check(p.wait(30) == 0 and p.stderr.read() == b"",
          "the agent exits at the end of its stdin, nothing on its stderr")


if __name__ == "__main__":
    main(globals())
