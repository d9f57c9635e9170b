"""codeward-agent -j's zygote (issue 15): one Python per worker, the data
stack imported once, that forks each stateless py job into a fresh jail
(libcwjail.so). In a worker built as tests/jail/test_agent.py builds one
(sockproxy's walls and the jail's seccomp profile), over the channel's
frames: what a zygote job leaves (files in /tmp, /dev/shm, /mnt/data and
$HOME, a SysV shared-memory segment and message queue, a listening abstract
unix socket, a detached process) is gone for the next one; a job cannot
signal or read the zygote (another pid and user namespace), nor break it
by killing every pid it sees; it runs as pid 2 with only its stdio, no
capability (not even in its own user namespace), no_new_privs and the
jail's filter; its inputs, changed files and open figures come back;
timeout, KILL and the output cap end a zygote job and leave nothing; a
zygote that cannot enter a jail sends every py job cold; a zygote killed from outside (between jobs or
during one) sends the next job the cold way and is started again. Its
speed is bench/bench.py's to measure (--isolation jail), never a test's.
Fails without Docker."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import test_jail as tj  # noqa: E402
import test_agent as ta  # noqa: E402
import cwchannel as cw  # noqa: E402
from cwtest import check, main  # noqa: E402

IN_ZYGOTE = "import sys; print('numpy' in sys.modules)"

LEAVE = r"""
import ctypes, os, socket, subprocess
libc = ctypes.CDLL(None, use_errno=True)
for d in ("/tmp", "/dev/shm", "/mnt/data", os.path.expanduser("~")):
    open(os.path.join(d, "leak-" + d.strip("/").replace("/", "-")), "w").write("a")
shm = libc.shmget(0x5a11, 4096, 0o1666)
msq = libc.msgget(0x5a12, 0o1666)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0cw-zygote-leak"); s.listen(1)
os.set_inheritable(s.fileno(), True)
p = subprocess.Popen(["sleep", "3007"], start_new_session=True, pass_fds=(s.fileno(),),
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(shm >= 0, msq >= 0, p.pid > 2)
"""

FIND = r"""
import ctypes, json, os, socket
libc = ctypes.CDLL(None, use_errno=True)
found = []
for d in ("/tmp", "/dev/shm", "/mnt/data", os.path.expanduser("~")):
    found += [os.path.join(d, n) for n in os.listdir(d) if n.startswith("leak")]
if libc.shmget(0x5a11, 0, 0) >= 0: found.append("shm")
if libc.msgget(0x5a12, 0) >= 0: found.append("msg")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect("\0cw-zygote-leak"); found.append("abstract socket")
except OSError:
    pass
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            if b"3007" in open("/proc/%s/cmdline" % p, "rb").read(): found.append("sleep " + p)
        except OSError:
            pass
print(json.dumps(found))
"""

# every pid the job can see, in /proc and by number, but its own and its
# init's (that one would only end the job itself); then the zygote's
# memory, environment and descriptors by /proc, as far as they are shown
HOSTILE = r"""
import json, os, signal, sys
zpid = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("ZPID", "0"))
pids = {int(p) for p in os.listdir("/proc") if p.isdigit()} | set(range(1, 600))
pids.discard(os.getpid())
hit = []
for p in sorted(pids):
    try:
        os.kill(p, signal.SIGKILL); hit.append(p)
    except OSError:
        pass
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
read = {}
for what in ("mem", "environ", "maps", "fd/0", "fd/1", "fd/2", "fd/3", "root/tmp"):
    try:
        if what.startswith("fd/"):	# open to write into it, as the hostile jobs do
            os.close(os.open("/proc/%d/%s" % (zpid, what), os.O_WRONLY))
            read[what] = "opened"
        elif what == "root/tmp":
            read[what] = os.listdir("/proc/%d/root/tmp" % zpid)
        else:
            read[what] = len(open("/proc/%d/%s" % (zpid, what), "rb").read(64))
    except OSError as e:
        read[what] = e.__class__.__name__
print(json.dumps({"hit": hit, "read": read, "zygote_listed": str(zpid) in os.listdir("/proc")}))
"""


def in_zygote(ch):
    res = ch.run("py", IN_ZYGOTE)
    return res["code"] == 0 and res["stdout"] == b"True\n"


def worker():
    cid = ta.agent_worker()
    p, ch = ta.start_agent(cid)
    check(ta.wait_zygote(cid, ch), "the zygote gets ready: %r" % ta.processes(cid))
    return cid, p, ch


def leftovers(cid):
    out = ta.processes(cid)
    return "sleep 3007" in out or "time.sleep" in out


def test_zygote_isolation():
    cid, p, ch = worker()
    zpids = ta.zygote_pids(cid)
    check(len(zpids) == 1, "one zygote in the worker: %r" % zpids)
    res = ch.run("py", LEAVE)
    check(res["code"] == 0 and res["stdout"] == b"True True True\n",
          "job A leaves everything: %r" % res)
    check(not leftovers(cid), "job A's detached process died with its jail")
    res = ch.run("py", FIND)
    check(res["code"] == 0 and json.loads(res["stdout"]) == [],
          "job B finds nothing of A: %r" % ((res["stdout"], res["stderr"]),))
    res = ch.run("py", "import os\nos.environ['ZPID'] = '%d'\n" % zpids[0] + HOSTILE)
    check(res["code"] == 0, "the hostile job ran to its end: %r" % res)
    got = json.loads(res["stdout"])
    print("hostile zygote job: killed pids %r; the zygote (%d) listed in its /proc: %s; "
          "reads of it: %r" % (got["hit"], zpids[0], got["zygote_listed"], got["read"]))
    check(all(v == "PermissionError" for v in got["read"].values()),
          "the zygote's memory, environment, maps, descriptors and root are closed to a job: %r"
          % got["read"])
    check(ta.zygote_pids(cid) == zpids, "the zygote lives on: %r" % ta.zygote_pids(cid))
    check(in_zygote(ch), "the next job runs in the zygote")
    # a process group and a session are not bounded by the pid namespace:
    # kill(0) reaches every member, seen or not
    res = ch.run("py", "import os, signal\nprint(os.getpgid(0) != 0, flush=True)\n"
                       "os.killpg(0, signal.SIGKILL)")
    check(res["signal"] == 9 or res["code"] == 137, "kill(0) ends the job itself: %r" % res)
    check(ta.zygote_pids(cid) == zpids, "and only the job: the zygote lives on: %r"
          % ta.zygote_pids(cid))
    check(in_zygote(ch), "the next job runs in the zygote")
    res = ch.run("py", "import os; print(os.getpid(), os.getppid(), sorted(os.listdir('/proc/self/fd')))")
    # pid 2 of its namespace; its parent, the zygote's child that made the
    # jail, is outside it (0); pid 1 is codeward-jail -R (jail/enter.c)
    check(res["stdout"] == b"2 0 ['0', '1', '2', '3']\n",
          "pid 2 of its jail, only its stdio open: %r" % res["stdout"])
    res = ch.run("py", "print(''.join(l for l in open('/proc/self/status') "
                       "if l.startswith(('Cap', 'NoNewPrivs', 'Seccomp:'))))")
    caps = dict(l.split(":\t") for l in res["stdout"].decode().split("\n") if ":\t" in l)
    check(all(int(caps[k], 16) == 0 for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"))
          and caps["NoNewPrivs"] == "1" and caps["Seccomp"] == "2",
          "no capability (not even in its own user namespace), no_new_privs, filtered: %r" % caps)
    p.stdin.close()
    check(p.wait(30) == 0 and p.stderr.read() == b"", "the agent ends quietly")


def test_zygote_limits():
    cid, p, ch = worker()
    res = ch.run("py", "import time\nprint('up', flush=True)\ntime.sleep(30)", timeout_ms=1500)
    check(res["reason"] == "timeout" and res["stdout"] == b"up\n",
          "a zygote job is killed at its timeout: %r" % res)
    check(not leftovers(cid), "nothing of it is left: %r" % ta.processes(cid))
    res = ch.run("py", "import time\ntime.sleep(30)", kill_after=0)
    check(res["reason"] == "killed", "privd's KILL ends a zygote job: %r" % res)
    check(not leftovers(cid), "nothing of it is left")
    res = ch.run("py", "import sys\nwhile True: sys.stdout.write('x' * 4096)",
                 output_max=10000)
    check(res["reason"] == "output" and len(res["stdout"]) == 10000,
          "the output cap ends a zygote job: %r" % ((res["reason"], len(res["stdout"])),))
    res = ch.run("py", "import sys; sys.exit(3)")
    check(res["code"] == 3 and res["reason"] == "none", "its exit code comes back: %r" % res)
    res = ch.run("py", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)")
    check(res["signal"] == 15 or res["code"] == 143, "a signal's end comes back: %r" % res)
    check(in_zygote(ch), "the zygote serves the next job")
    res = ch.run("py", "import sys\nassert 'matplotlib.pyplot' in sys.modules\n"
                       "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
                       "open('in.txt', 'a').write('y')\nprint(open('in.txt').read())",
                 files=[("in.txt", b"x"), ("same", b"s")])
    got = cw.tar_members(res["archive"])
    check(res["code"] == 0 and res["stdout"] == b"xy\n" and got.get("data/in.txt") == b"xy"
          and got.get("data/.codeward/kept") == b"same\n"
          and got.get("data/plot_1.png", b"")[:4] == b"\x89PNG",
          "a zygote job's inputs, its changed file and its open figure come back: %r"
          % ((res["code"], res["stderr"][-300:], sorted(got)),))
    p.stdin.close()
    p.wait(30)


def test_zygote_killed_from_outside():
    cid, p, ch = worker()
    zpid = ta.zygote_pids(cid)[0]
    tj.dexec(cid, ["kill", "-9", str(zpid)])
    res = ch.run("py", IN_ZYGOTE + "\nprint(6 * 7)")
    check(res["code"] == 0 and res["stdout"] == b"False\n42\n",
          "with its zygote dead the job runs cold: %r" % res)
    check(ta.wait_zygote(cid, ch), "the zygote is started again")
    new = ta.zygote_pids(cid)
    check(len(new) == 1 and new[0] != zpid, "a new zygote: %r" % new)
    # killed during a job: the job ends, nothing is left, the next job runs
    ch.send(cw.job_frames("py", "import time\ntime.sleep(20)"))
    time.sleep(1.5)
    tj.dexec(cid, ["kill", "-9", str(new[0])])
    res = {}
    while True:
        t, pl, _ = ch.recv()
        if t == cw.EXIT:
            res["exit"] = pl
        if t == cw.READY:
            break
    check(res.get("exit") is not None and (res["exit"][0] != 0 or res["exit"][2] != 0),
          "the job ends with its zygote, not as a success: %r" % res)
    check(not leftovers(cid), "nothing of it is left: %r" % ta.processes(cid))
    res = ch.run("py", "print(7)")
    check(res["code"] == 0 and res["stdout"] == b"7\n", "the next job runs: %r" % res)
    check(ta.wait_zygote(cid, ch), "and the zygote comes back")
    p.stdin.close()
    p.wait(30)


def test_zygote_unfit():
    """A zygote that cannot enter a jail (here: its library is /dev/null)
    says so; every py job goes cold (the agent does not start it again:
    not observed here, a failed one would die as fast)."""
    ta.agent_worker()		# the image
    saved, tj.IMAGE_TAG = tj.IMAGE_TAG, ta.TAG
    try:
        cid = tj.worker("runc", extra_hc={
            "Binds": ["/dev/null:/usr/local/lib/codeward/libcwjail.so:ro"]})
    finally:
        tj.IMAGE_TAG = saved
    p, ch = ta.start_agent(cid)
    time.sleep(2)
    for i in range(3):
        res = ch.run("py", IN_ZYGOTE + "\nprint(%d)" % i)
        check(res["code"] == 0 and res["stdout"] == b"False\n%d\n" % i,
              "py job %d runs cold: %r" % (i, res))
    time.sleep(1)
    check(ta.zygote_pids(cid) == [], "no zygote is left running: %r" % ta.processes(cid))
    p.stdin.close()
    check(p.wait(30) == 0 and p.stderr.read() == b"", "the agent ends quietly")


if __name__ == "__main__":
    main(globals())
