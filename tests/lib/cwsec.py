"""Security-test helpers: the IPC structs (common/ipc.h) in Python, frontd
run under a fake privd (the test plays privd on the socketpair, so frontd's
HTTP side, auth and confinement are tested without Docker), privd run with a
fake frontd, /proc status checks, the seccomp filter a running daemon holds
(compared with the one tests/security/try_syscall.c tries call by call), and
JWTs minted with the openssl command (an implementation independent of ours).
"""
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import base64
import fcntl

from cwtest import BUILD, SOURCE, Fail, check, free_port, policy_set

# --- common/ipc.h ---------------------------------------------------------------

IPC_EXEC_BEGIN, IPC_EXEC_FILE, IPC_EXEC_RUN, IPC_HEALTH = 1, 2, 3, 4
IPC_EXEC_DONE, IPC_HEALTH_REPLY = 65, 66
HDR = struct.Struct("<IIII")
BEGIN = struct.Struct("<IIII8s64sIIIIIIQ4096s40s40s")
FILE = struct.Struct("<IIII256sQ")
DONE = struct.Struct("<IIIIIIiIQQQQ256sII72s")
HEALTH_REPLY = struct.Struct("<IIIIII")
assert BEGIN.size == 4296 and FILE.size == 280 and DONE.size == 400 and HEALTH_REPLY.size == 24
IPC_MSG_MAX = BEGIN.size
IPC_DONE_OUTPUT = 1
# a well-formed policy id (the sha256 of no particular policy)
POLICY_ID = b"sha256:" + b"0" * 64


def hdr(t, size, ident, reserved=0):
    return HDR.pack(t, size, ident, reserved)


def begin(ident, lang=b"py", user=b"", code_len=0, nfiles=0, argc=0, args=b"",
          opts=0, timeout_ms=0, reserved=0, size=None, session=b"", inbox=b""):
    m = BEGIN.pack(IPC_EXEC_BEGIN, BEGIN.size if size is None else size, ident, 0,
                   lang, user, timeout_ms, nfiles, argc, len(args), opts, reserved,
                   code_len, args, session, inbox)
    return m


def exec_file(ident, name, size):
    return FILE.pack(IPC_EXEC_FILE, FILE.size, ident, 0, name, size)


def bare(t, ident):
    return hdr(t, 16, ident)


def sealed_memfd(data, name="cw-test"):
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW |
                fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL)
    return fd


def recv_msg(sock):
    """One datagram and its descriptors; (b"", []) at end of file."""
    data, fds, _flags, _addr = socket.recv_fds(sock, IPC_MSG_MAX + 1, 8)
    return data, fds


# --- policy for daemons that never reach Docker -----------------------------------

DUMMY_IMAGE = "sha256:" + "0" * 64


def offline_policy(overrides=()):
    text = open(os.path.join(SOURCE, "policy", "default.policy")).read()
    text = text.replace("@SANDBOX_IMAGE@", DUMMY_IMAGE)
    for sec, key, val in overrides:
        text = policy_set(text, sec, key, val)
    return text


def keytool_hash(key):
    h = subprocess.run([os.path.join(BUILD, "frontd", "codeward-keytool"), "hash"],
                       input=key + "\n", capture_output=True, text=True, check=True)
    return h.stdout


# --- /proc ----------------------------------------------------------------------

def proc_status(pid, tid=None):
    path = "/proc/%d/status" % pid if tid is None else "/proc/%d/task/%d/status" % (pid, tid)
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def threads(pid):
    return sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))


def uid_of(name):
    import pwd
    return pwd.getpwnam(name).pw_uid


def check_confined(pid, user, what):
    """Seccomp 2 with the same number of filters, NoNewPrivs 1, no
    capability, every uid/gid the daemon's own, in every thread; and the
    filter every thread holds is exactly its daemon's (what: frontd, privd or
    sockproxy). Returns the uid."""
    want = uid_of(user)
    tids = threads(pid)
    check(pid in tids, "%s pid %d has no main thread" % (what, pid))
    nfilters = proc_status(pid).get("Seccomp_filters")
    for tid in tids:
        try:
            st = proc_status(pid, tid)
        except FileNotFoundError:
            if tid == pid:
                raise
            continue    # a connection thread that just ended
        where = "%s pid %d thread %d" % (what, pid, tid)
        check(st.get("Seccomp") == "2", "%s: Seccomp %r" % (where, st.get("Seccomp")))
        check(int(st.get("Seccomp_filters", "0")) >= 1, "%s: no filter" % where)
        check(st.get("Seccomp_filters") == nfilters, "%s: %s filters, the main thread %s"
              % (where, st.get("Seccomp_filters"), nfilters))
        check(st.get("NoNewPrivs") == "1", "%s: NoNewPrivs %r" % (where, st.get("NoNewPrivs")))
        for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
            check(int(st[cap], 16) == 0, "%s: %s %s" % (where, cap, st[cap]))
        uids = st["Uid"].split()
        check(uids == [str(want)] * 4, "%s: Uid %s, want %d (%s)" % (where, uids, want, user))
        check("0" not in st["Gid"].split(), "%s: Gid %s" % (where, st["Gid"]))
        groups = st.get("Groups", "").split()
        check("0" not in groups, "%s: root group in %s" % (where, groups))
    check_filter(pid, what)
    return want


# --- seccomp ----------------------------------------------------------------

TRY_SYSCALL = os.path.join(BUILD, "tests", "security", "try-syscall")
PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
PTRACE_SECCOMP_GET_FILTER = 0x420c
WALL = 0x40000000


class Gone(Exception):
    """The thread ended before its filter was read."""


def running_filter(tid):
    """The newest seccomp filter of one thread, as the kernel holds it
    (PTRACE_SECCOMP_GET_FILTER, root only). The thread is held with
    PTRACE_SEIZE and PTRACE_INTERRUPT for the read and then let go: no signal
    reaches it, and a sleep, poll or accept it was in resumes."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.restype = ctypes.c_long
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]

    def call(req, data=None):
        r = libc.ptrace(req, tid, None, data)
        if r < 0:
            err = ctypes.get_errno()
            if err == 3:
                raise Gone()
            raise Fail("ptrace %#x of thread %d: %s" % (req, tid, os.strerror(err)))
        return r

    call(PTRACE_SEIZE)
    try:
        call(PTRACE_INTERRUPT)
        try:
            os.waitpid(tid, WALL)
        except ChildProcessError:
            raise Gone()
        n = call(PTRACE_SECCOMP_GET_FILTER)
        buf = ctypes.create_string_buffer(n * 8)
        check(call(PTRACE_SECCOMP_GET_FILTER, buf) == n, "thread %d: filter size changed" % tid)
        return buf.raw
    finally:
        libc.ptrace(PTRACE_DETACH, tid, None, None)


def daemon_filter(daemon):
    """The program try-syscall tries for that daemon, as the kernel gets it."""
    return subprocess.run([TRY_SYSCALL, "bpf", daemon], capture_output=True,
                          check=True).stdout


def check_filter(pid, daemon):
    """Every thread of the running daemon holds exactly its daemon's filter
    (frontd/filter.c, privd/filter.c or sockproxy/filter.c), the program
    try-syscall shows killing that daemon's forbidden calls."""
    want = daemon_filter(daemon)
    check(len(want) > 8 * 20, "try-syscall bpf %s: %d bytes" % (daemon, len(want)))
    seen = 0
    for tid in threads(pid):
        try:
            got = running_filter(tid)
        except Gone:
            check(tid != pid, "%s pid %d ended while its filter was read" % (daemon, pid))
            continue    # a connection thread that just ended
        check(got == want, "%s pid %d thread %d: its seccomp filter (%d instructions) is "
              "not %s's (%d)" % (daemon, pid, tid, len(got) // 8, daemon, len(want) // 8))
        seen += 1
    check(seen >= 1, "%s pid %d: no thread's filter read" % (daemon, pid))


def wait_exit(proc, timeout, what):
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise Fail("%s did not exit within %d s" % (what, timeout))


# --- JWTs with the openssl command ------------------------------------------------

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Signer:
    """An Ed25519 key pair made by openssl; signs with `pkeyutl -rawin`."""

    def __init__(self, d):
        self.dir = d
        self.key = os.path.join(d, "jwt-private.pem")
        self.pub = os.path.join(d, "jwt-public.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", self.key],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-out", self.pub],
                       check=True, capture_output=True)
        self.pub_pem = open(self.pub, "rb").read()

    def sign(self, msg):
        fd, path = tempfile.mkstemp(dir=self.dir)
        try:
            os.write(fd, msg)
            os.close(fd)
            return subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", self.key,
                                   "-in", path], check=True, capture_output=True).stdout
        finally:
            os.unlink(path)

    def token(self, claims, header=None, sign=True):
        h = header if header is not None else {"alg": "EdDSA", "typ": "JWT", "kid": "k1"}
        m = (b64u(json.dumps(h).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
        return (m + b"." + (b64u(self.sign(m)).encode() if sign else b"")).decode()


def claims(**kw):
    now = int(time.time())
    c = {"iss": "librechat", "aud": "codeapi", "sub": "6650f1c2a1b2c3d4e5f60718",
         "iat": now, "nbf": now, "exp": now + 240}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


# --- frontd under a fake privd ------------------------------------------------------

class FakePrivd:
    """Start codeward-frontd as privd would (socketpair on fd 3, sealed policy
    bytes on fd 4, as root so it drops itself) and answer its IPC: HEALTH ok,
    every execution a fixed stdout. Records each EXEC_BEGIN's user. With
    lie set, an execution is answered with one of LIES instead."""

    # answers that pass ipc_check() but not frontd's table of answers
    LIES = ("session-outcome", "health-for-exec", "request-type")

    def __init__(self, overrides=(), key=None, env=None, name="front", lie=None):
        assert lie is None or lie in self.LIES
        self.lie = lie
        self.dir = tempfile.mkdtemp(prefix="cw-sec-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.key = key or "cw_test_" + b64u(os.urandom(24))
        self.keys_path = os.path.join(self.dir, "keys")
        with open(self.keys_path, "w") as f:
            f.write(keytool_hash(self.key))
        self.overrides = [("auth", "keys", self.keys_path)] + list(overrides)
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.users = []
        self.proc = None
        self.sock = None
        self.log_path = os.path.join(self.dir, "frontd.log")

    def start(self, wait_healthy=True):
        text = offline_policy(self.overrides)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pfd = sealed_memfd(text.encode(), "cw-policy")
        tfd = theirs.fileno()

        def child():
            # Python's own descriptors are close-on-exec; dup2 clears it
            # on exactly these two
            os.dup2(tfd, 3)
            os.dup2(pfd, 4)

        self.log = open(self.log_path, "wb+")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "frontd", "codeward-frontd"), "--listen",
             "127.0.0.1:%d" % self.port, "--store", os.path.join(self.dir, "store")],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=child, close_fds=False,
            env=self.env)
        theirs.close()
        os.close(pfd)
        self.sock = ours
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        if not wait_healthy:
            return self
        deadline = time.time() + 15
        while True:
            try:
                st, _ = self.request("GET", "/v1/health")
                if st == 200:
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise Fail("frontd did not come up:\n" + self.text_log())
            time.sleep(0.05)

    def _serve(self):
        try:
            while True:
                data, fds = recv_msg(self.sock)
                if not data:
                    return
                for fd in fds:
                    os.close(fd)
                t, ln, ident, _ = HDR.unpack_from(data)
                if t == IPC_HEALTH:
                    self.sock.send(HEALTH_REPLY.pack(IPC_HEALTH_REPLY, 24, ident, 0, 1, 0))
                elif t == IPC_EXEC_BEGIN:
                    f = BEGIN.unpack(data)
                    self.users.append(f[5].rstrip(b"\0").decode())
                elif t == IPC_EXEC_RUN and self.lie == "health-for-exec":
                    self.sock.send(HEALTH_REPLY.pack(IPC_HEALTH_REPLY, 24, ident, 0, 1, 0))
                elif t == IPC_EXEC_RUN and self.lie == "request-type":
                    self.sock.send(HDR.pack(IPC_EXEC_RUN, HDR.size, ident, 0))
                elif t == IPC_EXEC_RUN:
                    out = b"fake privd ran it\n"
                    stream = struct.pack(">BxxxI", 1, len(out)) + out
                    mfd = sealed_memfd(stream, "cw-output")
                    # the session outcome REUSED_DROPPED, for a run without one
                    session = 4 if self.lie == "session-outcome" else 0
                    done = DONE.pack(IPC_EXEC_DONE, DONE.size, ident, 0, 0, 0, 0,
                                     IPC_DONE_OUTPUT, 0, 1000, len(stream), 0, b"", 0,
                                     session, POLICY_ID)
                    socket.send_fds(self.sock, [done], [mfd])
                    os.close(mfd)
        except OSError:
            return

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        hdrs = dict((k.lower(), v) for k, v in r.getheaders())
        c.close()
        try:
            j = json.loads(raw) if raw else None
        except ValueError:
            j = raw
        self.last_headers = hdrs
        return r.status, j

    def exec(self, headers):
        return self.request("POST", "/v1/exec", {"lang": "py", "code": "print(1)"}, headers)

    def text_log(self):
        self.log.flush()
        self.log.seek(0)
        return "--- frontd log ---\n" + self.log.read().decode(errors="replace")[-6000:]

    def stop(self):
        if self.sock is not None:
            # shutdown first: close() alone does not end the recv the
            # serving thread is blocked in, and the peer would see no EOF
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Fail("frontd did not exit when its socketpair closed")

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        self.stop()
        if et is not None:
            sys.stderr.write(self.text_log())
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


# --- privd with a fake frontd --------------------------------------------------------

FAKE_FRONTD = os.path.join(SOURCE, "tests", "security", "fake_frontd.py")


class PrivdAlone:
    """Start codeward-privd with tests/security/fake_frontd.py as its frontd.
    The fake plays `script` (see fake_frontd.py) and reports to a file.
    sockproxy is the given socket path (None: a path where nothing listens)."""

    def __init__(self, script="idle", sockproxy=None, env=None, overrides=(),
                 policy_text=None, name="priv"):
        self.dir = tempfile.mkdtemp(prefix="cw-sec-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.policy_path = os.path.join(self.dir, "policy")
        with open(self.policy_path, "w") as f:
            f.write(policy_text if policy_text is not None else offline_policy(overrides))
        self.report = os.path.join(self.dir, "report.json")
        self.sockproxy = sockproxy or os.path.join(self.dir, "no-sockproxy.sock")
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.env["CW_FAKE_FRONTD_SCRIPT"] = script
        self.env["CW_FAKE_FRONTD_REPORT"] = self.report
        self.proc = None
        self.log_path = os.path.join(self.dir, "privd.log")

    def start(self):
        self.log = open(self.log_path, "wb+")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "privd", "codeward-privd"), "--policy", self.policy_path,
             "--sockproxy", self.sockproxy, "--frontd", FAKE_FRONTD,
             "--listen", "127.0.0.1:1", "--store", os.path.join(self.dir, "store")],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        return self

    def wait_running(self, timeout=15):
        """Until privd has loaded its filter and answers (its log says so)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Fail("privd exited %s:\n%s" % (self.proc.returncode, self.text_log()))
            if "privd: running as" in self.text_log() and self.fake_pid() is not None:
                return
            time.sleep(0.05)
        raise Fail("privd did not start:\n" + self.text_log())

    def fake_pid(self):
        try:
            with open(os.path.join(self.dir, "fake-frontd.pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def result(self):
        try:
            with open(self.report) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def text_log(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            wait_exit(self.proc, 20, "privd")

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        self.stop()
        if et is None:
            shutil.rmtree(self.dir, ignore_errors=True)
