"""Test harness: run a whole codeward appliance (sockproxy + privd + frontd)
against the real Docker engine, in a private directory, on a free port.

Integration tests never skip: if no Docker engine answers, they fail.
Every appliance gets its own instance name, so its start-up sweep and the
leftover check touch only its own containers.
"""
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SOURCE = os.environ.get("CW_SOURCE", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("CW_BUILD", os.path.join(SOURCE, "build"))
# the build whose agent and jail go into the worker image: the daemons'
# own, unless a sanitizer run of the daemons names the release's (a
# sanitized agent's leak checker cannot run inside a jail)
WORKER_BUILD = os.environ.get("CW_WORKER_BUILD", BUILD)
DOCKER_SOCK = "/var/run/docker.sock"
DOCKER = "/usr/bin/docker"


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


# --- the Docker engine, spoken to directly (for checks, never by codeward) ---

class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("docker", timeout=timeout)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


def docker_api(method, path, body=None, sock=DOCKER_SOCK, headers=None):
    c = _UnixHTTP(sock)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    raw = r.read()
    c.close()
    return r.status, raw


def require_docker():
    """Fail (never skip) when no engine answers."""
    try:
        st, raw = docker_api("GET", "/_ping")
    except OSError as e:
        raise Fail("no Docker engine answers on %s: %s (run ./codeward test)" % (DOCKER_SOCK, e))
    check(st == 200, "Docker engine ping answered %d" % st)


def containers_with_label(label):
    filt = json.dumps({"label": [label]})
    st, raw = docker_api("GET", "/v1.41/containers/json?all=1&filters=" + _q(filt))
    check(st == 200, "container list failed: %d" % st)
    return [c["Id"] for c in json.loads(raw)]


def _q(s):
    from urllib.parse import quote
    return quote(s, safe="")


def sandbox_image_id():
    img = os.environ.get("CODEWARD_SANDBOX_IMAGE")
    if img:
        return img
    st, raw = docker_api("GET", "/v1.41/images/codeward-sandbox:current/json")
    check(st == 200, "image codeward-sandbox:current is missing (run ./codeward test)")
    return json.loads(raw)["Id"]


# --- policy text editing ----------------------------------------------------

def policy_set(text, section, key, value):
    """Set 'key value' in [section] (adding the line, or the section)."""
    lines = text.split("\n")
    out, in_sec, done = [], False, False
    for i, line in enumerate(lines):
        stripped = line.split("#", 1)[0].strip()
        if stripped.startswith("["):
            if in_sec and not done:
                out.append("%s %s" % (key, value))
                done = True
            in_sec = stripped == "[%s]" % section
        elif in_sec and not done and stripped.split()[:1] == [key]:
            out.append("%s %s" % (key, value))
            done = True
            continue
        out.append(line)
    if not done:
        if in_sec:
            out.append("%s %s" % (key, value))
        else:
            out += ["", "[%s]" % section, "%s %s" % (key, value)]
    return "\n".join(out)


def policy_get(text, section, key):
    """KEY's value in [SECTION], or None"""
    in_sec = False
    for line in text.split("\n"):
        words = line.split("#", 1)[0].split()
        if words and words[0].startswith("["):
            in_sec = " ".join(words) == "[%s]" % section
        elif in_sec and words[:1] == [key]:
            return " ".join(words[1:])
    return None


def template_text():
    tmpl = os.environ.get("CODEWARD_POLICY_TEMPLATE", os.path.join(SOURCE, "policy", "default.policy"))
    with open(tmpl) as f:
        return f.read()


# what a worker runs under isolation jail, from this tree: the agent, the
# jail and the runner files the agent's jobs use, over the sandbox image's
# (which ./codeward test has just built from the same tree; a shared
# machine's may be older than the tree under test)
WORKER_FILES = (("build", "jail/codeward-jail", "/usr/local/bin/codeward-jail"),
                ("build", "jail/codeward-agent", "/usr/local/bin/codeward-agent"),
                ("source", "sandbox/runner/cw-run", "/usr/local/lib/codeward/cw-run"),
                ("source", "sandbox/runner/python/cw_session.py",
                 "/usr/local/lib/codeward/python/cw_session.py"),
                ("source", "sandbox/runner/python/cw_zygote.py",
                 "/usr/local/lib/codeward/python/cw_zygote.py"),
                ("source", "sandbox/runner/python/cw_jzygote.py",
                 "/usr/local/lib/codeward/python/cw_jzygote.py"),
                ("build", "jail/libcwjail.so", "/usr/local/lib/codeward/libcwjail.so"))
_WORKER_IMAGE = {}


def worker_image():
    """the sandbox image with this tree's WORKER_FILES, tagged by their
    content (built once; a later run with the same files finds it)"""
    base = sandbox_image_id()
    if base in _WORKER_IMAGE:
        return _WORKER_IMAGE[base]
    import hashlib
    import shutil
    ctx = tempfile.mkdtemp(prefix="cw-worker-image-")
    h = hashlib.sha256(base.encode())
    lines = ["FROM %s" % base]
    for i, (where, rel, dst) in enumerate(WORKER_FILES):
        with open(os.path.join(WORKER_BUILD if where == "build" else SOURCE, rel), "rb") as f:
            data = f.read()
        h.update(dst.encode() + b"\0" + data)
        with open(os.path.join(ctx, "f%d" % i), "wb") as g:
            g.write(data)
        os.chmod(os.path.join(ctx, "f%d" % i), 0o755)
        lines.append("COPY f%d %s" % (i, dst))
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write("\n".join(lines) + "\n")
    tag = "codeward-sandbox:cwtest-worker-" + h.hexdigest()[:16]
    st, raw = docker_api("GET", "/v1.41/images/%s/json" % tag)
    if st != 200:
        r = subprocess.run([DOCKER, "build", "-q", "-t", tag, ctx], capture_output=True, text=True)
        check(r.returncode == 0, "docker build of the worker image: %s" % r.stderr)
        st, raw = docker_api("GET", "/v1.41/images/%s/json" % tag)
        check(st == 200, "the worker image %s: %d" % (tag, st))
    shutil.rmtree(ctx)
    _WORKER_IMAGE[base] = json.loads(raw)["Id"]
    return _WORKER_IMAGE[base]


# the agent's argv as sockproxy writes it (sockproxy/op_channel.c)
AGENT_ARGV = r"/usr/local/bin/codeward-agent -j( -t [0-9]+ -s [0-9]+ -f [0-9]+)?"

# what a worker holds between executions under isolation jail, each at
# most so many times: its init and idle process, codeward-agent, and the
# agent's zygote (one Python with the data stack imported, which forks
# each stateless py job into its fresh jail and runs no job's code)
WORKER_OWN = ((r"/sbin/docker-init -- /usr/local/bin/cw-idle", 1),
              (r"(/usr/local/bin/cw-idle|sleep infinity)", 1),
              # with the jail's sizes sockproxy wrote from the policy
              (AGENT_ARGV, 1),
              (r"python3 /usr/local/lib/codeward/python/cw_jzygote\.py", 1))


def container_processes(cid, runtime=None):
    """[pid, args] of each process in container cid, or None when it is
    gone. Under runsc (RUNTIME, else the container's own) the engine's top
    lists the host's processes, not the sandbox's (runsc has its own
    process table): a ps inside it instead."""
    if runtime is None:
        st, raw = docker_api("GET", "/v1.41/containers/%s/json" % cid)
        if st != 200:
            return None
        runtime = json.loads(raw)["HostConfig"].get("Runtime") or "runc"
    if runtime == "runsc":
        r = subprocess.run([DOCKER, "exec", cid, "ps", "-eo", "pid=,args="],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            return None
        procs = [l.strip().split(None, 1) for l in r.stdout.splitlines() if l.strip()]
        return [p for p in procs if len(p) == 2 and p[1] != "ps -eo pid=,args="]
    st, raw = docker_api("GET", "/v1.41/containers/%s/top?ps_args=-eo%%20pid,args" % cid)
    return json.loads(raw)["Processes"] if st == 200 else None


def worker_strays(procs):
    """of a worker's processes (container_processes), those beyond its own
    (WORKER_OWN)"""
    left = [n for _, n in WORKER_OWN]
    strays = []
    for p in procs or []:
        k = [i for i, (pat, _) in enumerate(WORKER_OWN) if re.fullmatch(pat, p[-1])]
        if k and left[k[0]] > 0:
            left[k[0]] -= 1
        else:
            strays.append(p)
    return strays


def is_worker(procs):
    """a container's processes are a worker's: its agent runs (-j)"""
    return any(re.fullmatch(AGENT_ARGV, p[-1]) for p in procs or [])


def policy_text(overrides=(), keys_path=None, image=None):
    text = template_text()
    img = image or sandbox_image_id()
    text = re.sub(r"@[A-Z_]+@", img, text)
    if keys_path:
        text = policy_set(text, "auth", "keys", keys_path)
    for sec, key, val in overrides:
        text = policy_set(text, sec, key, val)
    return text


def jail_overrides():
    """The policy lines of isolation jail: the workers' seccomp profile
    (tests/lib/jailprofile.py) built once per process, and its pin."""
    global _JAIL
    if _JAIL is None:
        from jailprofile import jail_profile
        d = tempfile.mkdtemp(prefix="cw-jailprofile-")
        os.chmod(d, 0o755)
        _JAIL = jail_profile(d)
    return _JAIL


_JAIL = None


# the capabilities of gVisor's own kernel a jail's helper needs under runsc
# (policy jail-runsc-caps; SECURITY.md)
RUNSC_JAIL_CAPS = "SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP"


def isolation_default():
    """CODEWARD_TEST_ISOLATION (jail or container) when set, else the policy
    template's own"""
    iso = os.environ.get("CODEWARD_TEST_ISOLATION") or policy_get(template_text(), "sandbox", "isolation")
    check(iso in ("jail", "container"), "isolation %s: jail or container" % iso)
    return iso


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def port_open(port):
    """does something accept on 127.0.0.1:port (2 s at most)?"""
    s = socket.socket()
    try:
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# --- the appliance ------------------------------------------------------------

class Appliance:
    """supervised=True: the daemons run under codeward-supervise (as
    ./codeward up runs them), its log in self.dir/supervise.log, the
    daemons' pid files and supervise.status in self.dir; otherwise each
    daemon is a child of this process, as every other test has it."""

    def __init__(self, overrides=(), name="t", supervised=False, isolation=None, node=None,
                 store=None, s3=None):
        require_docker()
        self.supervised = supervised
        self.node = node
        # store: "local" or "s3"; None: CODEWARD_TEST_STORE, else local.
        # Under s3 the appliance gets an s3rver of its own (splib.S3rver)
        # unless the caller hands one (s3=, shared by several appliances).
        self.store_backend = store or os.environ.get("CODEWARD_TEST_STORE", "local")
        self.s3 = self.s3_own = self.s3_creds = None
        if self.store_backend == "s3":
            import atexit
            import splib
            self.s3 = s3 or splib.S3rver(bucket="codeward")
            self.s3_own = s3 is None
            self.s3_creds = splib.creds_file()
            # kept across stop() and start() (a restart finds its files);
            # gone when the test process ends
            atexit.register(self.s3_end)
            overrides = [("store", "backend", "s3"), ("store", "endpoint", self.s3.endpoint),
                         ("store", "bucket", self.s3.bucket),
                         ("store", "credentials", self.s3_creds)] + list(overrides)
        elif self.store_backend != "local":
            raise Fail("Appliance(store=%r): local or s3" % self.store_backend)
        # isolation: "jail" or "container"; None: CODEWARD_TEST_ISOLATION,
        # else the template's. The caller's own overrides come after.
        self.isolation = isolation or isolation_default()
        self.jail_seccomp = None
        if self.isolation == "jail":
            self.jail_seccomp, pin = jail_overrides()
            pre = [("sandbox", "jail-seccomp", pin), ("sandbox", "isolation", "jail")]
        elif self.isolation == "container":
            pre = [("sandbox", "isolation", "container")]
        else:
            raise Fail("Appliance(isolation=%r): jail or container" % self.isolation)
        overrides = list(overrides)
        # isolation jail under runsc needs the policy's jail-runsc-caps
        # (sockproxy refuses it otherwise): a test that names runsc gets it
        if self.isolation == "jail" and ("sandbox", "runtime", "runsc") in overrides:
            if not any(o[:2] == ("sandbox", "jail-runsc-caps") for o in overrides):
                pre.append(("sandbox", "jail-runsc-caps", RUNSC_JAIL_CAPS))
            # and pids 1024 at least (policy/policy.c: gVisor's threads grow
            # with a worker's jobs), whatever a test written for container
            # mode asked
            overrides = [("sandbox", "pids", "1024") if o[:2] == ("sandbox", "pids") and
                         int(o[2]) < 1024 else o for o in overrides]
        self.pre = pre
        overrides = pre + overrides
        self.instance = "test-%s-%s" % (name, secrets.token_hex(4))
        self.dir = tempfile.mkdtemp(prefix="cw-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.key = "cw_test_" + secrets.token_urlsafe(24)
        self.keys_path = os.path.join(self.dir, "keys")
        h = subprocess.run([os.path.join(BUILD, "frontd", "codeward-keytool"), "hash"],
                           input=self.key + "\n", capture_output=True, text=True, check=True)
        with open(self.keys_path, "w") as f:
            f.write(h.stdout)
        self.policy_path = os.path.join(self.dir, "policy")
        with open(self.policy_path, "w") as f:
            f.write(self.text(overrides))
        self.sock = os.path.join(self.dir, "sockproxy.sock")
        self.store = os.path.join(self.dir, "store")
        # frontd's inbox (policy inputs), as ./codeward up has it: in the store
        self.inbox = os.path.join(self.store, "inbox")
        os.makedirs(self.inbox)
        self.port = free_port()
        self.procs = {}
        self.logs = {}

    def text(self, overrides=()):
        """a policy for this appliance: its isolation's lines (and under
        jail cwtest's worker image), then the overrides"""
        return policy_text(self.pre + [o for o in overrides if o not in self.pre],
                           self.keys_path, worker_image() if self.isolation == "jail" else None)

    def sockproxy_argv(self):
        return [os.path.join(BUILD, "sockproxy", "codeward-sockproxy"), "--listen", self.sock,
                "--upstream", DOCKER_SOCK, "--policy", self.policy_path, "--instance", self.instance,
                "--inbox", self.inbox] + \
            (["--jail-seccomp", self.jail_seccomp] if self.jail_seccomp else [])

    def privd_argv(self):
        return [os.path.join(BUILD, "privd", "codeward-privd"), "--policy", self.policy_path,
                "--sockproxy", self.sock, "--frontd", os.path.join(BUILD, "frontd", "codeward-frontd"),
                "--listen", "127.0.0.1:%d" % self.port, "--store", self.store, "--inbox", self.inbox,
                "--storeproxy", os.path.join(BUILD, "storeproxy", "codeward-storeproxy")] + \
            (["--node", self.node] if self.node else [])

    def pid(self, name):
        """a supervised daemon's pid, from the supervisor's pid file"""
        with open(os.path.join(self.dir, name + ".pid")) as f:
            return int(f.read())

    def frontd_pid(self):
        """frontd's pid: privd's child (privd spawns it)"""
        privd = self.pid("privd") if self.supervised else self.procs["privd"].pid
        kids = []
        for t in os.listdir("/proc/%d/task" % privd):
            try:
                with open("/proc/%d/task/%s/children" % (privd, t)) as f:
                    kids += f.read().split()
            except OSError:
                pass
        for k in kids:
            with open("/proc/%s/comm" % k) as f:
                if f.read().strip().startswith("codeward-front"):
                    return int(k)
        raise Fail("no frontd under privd %d" % privd)

    def wait_healthy(self, proc, timeout):
        deadline = time.time() + timeout
        while True:
            try:
                st, _ = self.request("GET", "/v1/health", auth=False)
                if st == 200:
                    return self
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise Fail("codeward did not become healthy:\n" + self.log("supervise") +
                           self.log("privd") + self.log("sockproxy"))
            time.sleep(0.1)

    def start_supervised(self):
        for name in ("supervise", "sockproxy", "privd"):
            self.logs[name] = open(os.path.join(self.dir, name + ".log"), "ab+")
        self.procs["supervise"] = subprocess.Popen(
            [os.path.join(BUILD, "supervise", "codeward-supervise"), "--run", self.dir,
             "--log", self.dir, "--wait-socket", self.sock,
             "--pair", "privd=" + os.path.join(BUILD, "frontd", "codeward-frontd"),
             "--listen", "127.0.0.1:%d" % self.port,
             "--"] + self.sockproxy_argv() +
            ["--"] + self.privd_argv(),
            stdout=self.logs["supervise"], stderr=subprocess.STDOUT)
        return self.wait_healthy(self.procs["supervise"], 30)

    def start(self):
        if self.supervised:
            return self.start_supervised()
        for name in ("sockproxy", "privd"):
            self.logs[name] = open(os.path.join(self.dir, name + ".log"), "wb+")
        self.procs["sockproxy"] = subprocess.Popen(
            self.sockproxy_argv(), stdout=self.logs["sockproxy"], stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while not os.path.exists(self.sock):
            if self.procs["sockproxy"].poll() is not None or time.time() > deadline:
                raise Fail("sockproxy did not start:\n" + self.log("sockproxy"))
            time.sleep(0.05)
        self.procs["privd"] = subprocess.Popen(
            self.privd_argv(), stdout=self.logs["privd"], stderr=subprocess.STDOUT)
        return self.wait_healthy(self.procs["privd"], 30)

    def log(self, name):
        f = self.logs.get(name)
        if f is None:
            return ""
        f.flush()
        f.seek(0)
        return "--- %s log ---\n%s\n" % (name, f.read().decode(errors="replace")[-6000:])

    def stop(self, check_leftovers=True):
        for name in ("supervise", "privd", "sockproxy"):
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(40 if name == "supervise" else 20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if check_leftovers:
            left = self.leftovers()
            if left:
                for cid in left:
                    docker_api("DELETE", "/v1.41/containers/%s?force=1&v=1" % cid)
                raise Fail("codeward left %d container(s) behind" % len(left))

    def s3_end(self):
        if self.s3_creds is not None:
            os.unlink(self.s3_creds)
            self.s3_creds = None
        if self.s3_own:
            self.s3.stop()
            self.s3_own = False

    def leftovers(self):
        return containers_with_label("codeward.instance=" + self.instance)

    def workers_bound(self):
        """under isolation jail, how many workers an image keeps at most
        (privd/wpool.c): the larger of 'pool' and [concurrency] 'total'"""
        with open(self.policy_path) as f:
            text = f.read()
        return max(int(policy_get(text, "concurrency", "pool") or 0),
                   int(policy_get(text, "concurrency", "total") or 0))

    def worker_report(self):
        """under isolation jail, what is wrong with this instance's
        containers now: {"not a worker": [...], "over the bound": {image: n},
        "strays": {container: [processes of executions]}}, each only when
        not empty (a container gone meanwhile counts for nothing)"""
        bad, images = {}, {}
        for cid in self.leftovers():
            # an engine busy ending a gVisor sandbox of a thousand tasks may
            # not answer in time: that is not yet a verdict (callers retry)
            try:
                st, raw = docker_api("GET", "/v1.41/containers/%s/json" % cid)
                if st != 200:
                    continue
                c = json.loads(raw)
                procs = container_processes(cid, c["HostConfig"].get("Runtime") or "runc")
            except (OSError, subprocess.TimeoutExpired) as e:
                bad.setdefault("the engine did not answer", []).append((cid[:12], str(e)))
                continue
            if procs is None:
                continue
            if not is_worker(procs):
                bad.setdefault("not a worker", []).append((cid[:12], procs))
                continue
            images[c["Image"]] = images.get(c["Image"], 0) + 1
            strays = worker_strays(procs)
            if strays:
                bad.setdefault("strays", {})[cid[:12]] = strays
        over = {i[:19]: n for i, n in images.items() if n > self.workers_bound()}
        if over:
            bad["over the bound"] = over
        return bad

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        try:
            self.stop(check_leftovers=et is None)
        finally:
            if et is not None:
                sys.stderr.write(self.log("supervise") + self.log("privd") + self.log("sockproxy"))

    # --- HTTP ---
    def conn(self, timeout=180):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, auth=True, conn=None, raw=False):
        h = {}
        if auth:
            h["X-API-Key"] = self.key
        h.update(headers or {})
        data = body
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = conn or self.conn()
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        payload = r.read()
        if conn is None:
            c.close()
        if raw:
            return r.status, payload, r
        try:
            return r.status, json.loads(payload) if payload else None
        except ValueError:
            return r.status, payload

    def exec(self, lang, code, **extra):
        body = {"lang": lang, "code": code}
        body.update(extra)
        st, j = self.request("POST", "/v1/exec", body)
        check(st == 200, "exec answered %s: %r" % (st, j))
        return j


class Shared:
    """A module's one appliance, started at its first use; a last test
    stops it (and checks that nothing was left), main() at exit if not."""

    def __init__(self, **kw):
        self.kw = kw
        self.app = None

    def __call__(self):
        if self.app is None:
            self.app = Appliance(**self.kw).start()
        return self.app

    def stop(self, check_leftovers=True):
        a, self.app = self.app, None
        if a is not None:
            a.stop(check_leftovers)


# --- a tiny runner: every test_* function of a module, one line each -----------

def main(ns, shared=None):
    try:
        _main(ns)
    finally:
        if shared is not None:
            shared.stop(check_leftovers=False)


def _main(ns):
    tests = [(n, f) for n, f in sorted(ns.items()) if n.startswith("test_") and callable(f)]
    only = sys.argv[1:]
    failed = 0
    for name, fn in tests:
        if only and name not in only:
            continue
        t0 = time.time()
        try:
            fn()
            print("ok   %-50s %.2fs" % (name, time.time() - t0), flush=True)
        except Exception:
            failed += 1
            print("FAIL %-50s %.2fs" % (name, time.time() - t0), flush=True)
            traceback.print_exc()
    print("%d passed, %d failed" % (len(tests) - failed if not only else len(only) - failed, failed))
    sys.exit(1 if failed else 0)
