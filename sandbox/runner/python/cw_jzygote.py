"""codeward: the worker's zygote (issue 15), for stateless Python jobs.

codeward-agent -j starts it once, as the sandbox user, outside every job's
jail, through `cw-run --zygote` with its fd 0 a SOCK_SEQPACKET socket to the
agent (a socketpair: no name anywhere). It imports the data stack once
(cw_zygote.preload), says b"ready" (b"unfit" when a jail could not be
entered first, e.g. under gVisor 2022, which has no mount namespace for it:
the agent then sends every job cold), then takes one job at a time: the
message "DIR TIMEOUT_MS TMP SHM FILES" (the jail's /tmp and /dev/shm bytes
and their inode cap: the agent's -t, -s, -f, from the policy) with the job's
stdin, stdout and stderr. For each it forks a child (killed when the zygote
dies) that enters, in a session of its own, a fresh jail on DIR in-process
(libcwjail.so's cw_jail_enter: new user, pid, mount, ipc, uts and net
namespaces, fresh /tmp and /dev/shm of those sizes, DIR bound on /mnt/data,
every other descriptor closed,
no_new_privs and the jail's seccomp filter) and, as pid 2 under the jail's
init, becomes the program (/mnt/data/.codeward/code) as `python3 main.py`
would run it. The zygote answers b"P" and the child's pid (with a pidfd of
it when the kernel has them), then b"S" and its wait status.

The zygote never runs a job's code nor reads a job's files: the child does,
after it has entered the jail, where the zygote cannot be seen (another pid
namespace), reached (its socket is the child's no longer: closed) nor
signalled. What a job inherits is this process's memory: the imported
libraries' state, and nothing of another job (none has run here).
"""
import array
import ctypes
import os
import signal
import socket
import struct
import sys
import tempfile

from cw_zygote import preload, recv_fds, run_script

LIB = "/usr/local/lib/codeward/libcwjail.so"
JOBS = "/mnt/data/.codeward-agent/"
CODE = "/mnt/data/.codeward/code"
REQ_MAX = 256
# jail/jail.h's JAIL_SIZE_* and JAIL_FILES_* (cw_jail_enter refuses others)
SIZE_MIN, SIZE_MAX = 1 << 20, 16 << 30
FILES_MIN, FILES_MAX = 64, 1 << 20
PR_SET_PDEATHSIG = 1
LIBC = ctypes.CDLL(None, use_errno=True)


def _number(w, lo, hi):
    """A plain decimal in [lo, hi], or None."""
    if not w.isascii() or not w.isdigit() or w[0] == "0" or len(w) > 12:
        return None
    v = int(w)
    return v if lo <= v <= hi else None


def parse(data):
    words = data.decode("ascii", "replace").split(" ")
    if len(words) != 5 or not words[1].isascii() or not words[1].isdigit():
        return None
    d = words[0]
    if not d.startswith(JOBS) or "/." in d[len(JOBS) - 1:] or "//" in d:
        return None
    sizes = (_number(words[2], SIZE_MIN, SIZE_MAX), _number(words[3], SIZE_MIN, SIZE_MAX),
             _number(words[4], FILES_MIN, FILES_MAX))
    if None in sizes:
        return None
    return d, words[1], sizes


def become_program(lib, d, timeout_ms, sizes, zygote):
    """In the forked child: the jail, then the program. Never returns."""
    code = 125
    try:
        # the zygote's end is the job's: nothing of it outlives the zygote
        if LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or \
                os.getppid() != zygote:
            os._exit(125)
        os.environ["CW_LANG"] = "py"
        os.environ["CW_TIMEOUT_MS"] = timeout_ms
        if lib.cw_jail_enter(os.fsencode(d), *sizes) != 0:
            err = ctypes.get_errno()
            os.write(2, b"codeward-jail: enter: %s\n" % os.strerror(err).encode())
            os._exit(125)
        # pid 2 of a fresh jail: only 0, 1, 2 open, filtered, in /mnt/data
        for sig in (signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if "numpy" in sys.modules:	# random (os.register_at_fork) reseeds itself
            sys.modules["numpy"].random.seed()
        work = "/tmp/cw.main"
        os.mkdir(work, 0o700)
        with open(CODE, "rb") as f:
            source = f.read()
        os.unlink(CODE)
        os.rmdir(os.path.dirname(CODE))
        with open(work + "/main.py", "wb") as f:
            f.write(source)
        del source
        code = run_script([work + "/main.py"])
    finally:
        os._exit(code)


def send(ctl, tag, value, fds=()):
    anc = []
    if fds:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
    ctl.sendmsg([tag + struct.pack("=i", value)], anc)


def serve(ctl, lib):
    while True:
        data, fds, bad = recv_fds(ctl, REQ_MAX, 3)
        if not data and not fds:
            sys.exit(0)			# the agent has gone
        job = None if bad else parse(data)
        if job is None:
            for fd in fds:
                os.close(fd)
            send(ctl, b"E", 0)
            continue
        zygote = os.getpid()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            ctl.detach()		# the jail closes it; never this object
            os.close(go_w)
            # nothing runs until the agent has the child's pid: a zygote
            # that dies before that leaves the job untouched (it goes cold)
            if os.read(go_r, 1) != b"g":
                os._exit(125)
            for i, fd in enumerate(fds):
                os.dup2(fd, i)
            become_program(lib, *job, zygote)
        os.close(go_r)
        for fd in fds:
            os.close(fd)
        pidfd = []
        try:
            pidfd = [os.pidfd_open(pid)]
        except (AttributeError, OSError):
            pass			# an older kernel, gVisor: the pid alone
        try:
            send(ctl, b"P", pid, pidfd)
            os.write(go_w, b"g")
        finally:
            os.close(go_w)
            for fd in pidfd:
                os.close(fd)
        _, status = os.waitpid(pid, 0)
        send(ctl, b"S", status)


def fit(lib):
    """One empty jail entered and left: whether jobs can be forked here."""
    try:
        d = tempfile.mkdtemp(prefix="zygote-", dir=JOBS)
    except OSError:
        return False
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_RDWR), 2)	# its complaint goes nowhere
        # the smallest jail: whether one can be entered at all
        os._exit(0 if lib.cw_jail_enter(os.fsencode(d), SIZE_MIN, SIZE_MIN, FILES_MIN) == 0
                 else 125)
    _, status = os.waitpid(pid, 0)
    os.rmdir(d)
    return status == 0


def main():
    ctl = socket.socket(fileno=os.dup(0))
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        lib = ctypes.CDLL(LIB, use_errno=True)
        lib.cw_jail_enter.argtypes = [ctypes.c_char_p, ctypes.c_uint64, ctypes.c_uint64,
                                      ctypes.c_uint32]
        lib.cw_jail_enter.restype = ctypes.c_int
    except (OSError, AttributeError):
        lib = None			# an image without it: unfit as well
    if lib is None or not fit(lib):
        ctl.send(b"unfit")
        sys.exit(0)
    preload()
    ctl.send(b"ready")
    serve(ctl, lib)


if __name__ == "__main__":
    main()
