"""Shared helpers for the sockproxy tests: users, policies, a sockproxy under
test, raw HTTP over unix sockets, and Docker clean-up by label.

Everything a test creates on the real engine carries the label
codeward.instance=<the test's own instance name>; clean-up removes only that.
"""
import grp
import json
import os
import pwd
import re
import secrets
import signal
import socket
import subprocess
import tempfile
import time

DOCKER = "/usr/bin/docker"
DOCKER_SOCK = "/var/run/docker.sock"
SOURCE = os.environ.get("CW_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("CW_BUILD", os.path.join(SOURCE, "build"))
SOCKPROXY = os.path.join(BUILD, "sockproxy", "codeward-sockproxy")
USERS = ("codeward-front", "codeward-priv", "codeward-proxy")
FAKE_IMAGE = "sha256:" + "ab" * 32


def fail(msg):
    raise AssertionError(msg)


failures = []


def check(cond, msg):
    """One named expectation: printed either way, counted when it fails."""
    print("ok  " if cond else "FAIL", msg)
    if not cond:
        failures.append(msg)


def summary():
    print("%d failures" % len(failures))
    return 1 if failures else 0


def ensure_users():
    """The three daemon users, created the way ./codeward does."""
    for u in USERS:
        try:
            pwd.getpwnam(u)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home",
                            "--home-dir", "/nonexistent", "--shell",
                            "/usr/sbin/nologin", "--user-group", u], check=True)


def gid(group):
    return grp.getgrnam(group).gr_gid


def instance_name(tag):
    """A fresh instance name per test run: sweeps never touch anyone else's."""
    return "sptest-%s-%s" % (tag, secrets.token_hex(4))


def workdir():
    d = tempfile.mkdtemp(prefix="sp-")
    os.chmod(d, 0o755)  # codeward-proxy must reach sockets inside
    return d


def sandbox_image():
    """The id of the sandbox image on the engine (fails without Docker)."""
    env = os.environ.get("CODEWARD_SANDBOX_IMAGE")
    if env:
        return env
    r = subprocess.run([DOCKER, "image", "inspect", "-f", "{{.Id}}",
                        "codeward-sandbox:current"], capture_output=True, text=True)
    if r.returncode != 0:
        fail("no Docker engine or no codeward-sandbox:current image: " + r.stderr.strip())
    return r.stdout.strip()


def write_policy(d, image, edits=None):
    """The shipped default policy, image pinned, ASCII only, with 'edits'
    ({"key": "value"} replacing a setting's value in place). Isolation
    container unless the edits say otherwise: these tests hold sockproxy's
    grammar for a container per execution (the golden requests); the
    workers' grammar has its tests of its own (isolation jail in edits)."""
    edits = dict({"isolation": "container"}, **(edits or {}))
    src = os.environ.get("CODEWARD_POLICY_TEMPLATE",
                         os.path.join(SOURCE, "policy", "default.policy"))
    text = open(src, encoding="utf-8").read().replace("@SANDBOX_IMAGE@", image)
    text = text.encode("ascii", "replace").decode("ascii")
    for k, v in (edits or {}).items():
        text, n = re.subn(r"(?m)^%s(\s+)\S+" % re.escape(k), r"%s\g<1>%s" % (k, v), text)
        if n != 1:
            fail("policy edit %s matched %d lines" % (k, n))
    path = os.path.join(d, "policy")
    with open(path, "w") as f:
        f.write(text)
    return path


class Proxy:
    """A codeward-sockproxy under test, in the foreground, logging to a file."""

    def __init__(self, d, upstream, policy, instance, env=None, args=()):
        self.listen = os.path.join(d, "sp.sock")
        self.logpath = os.path.join(d, "sockproxy.log")
        self.instance = instance
        self.log = open(self.logpath, "wb")
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen([SOCKPROXY, "--listen", self.listen,
                                   "--upstream", upstream, "--policy", policy,
                                   "--instance", instance] + list(args),
                                  stdout=self.log, stderr=subprocess.STDOUT, env=e)

    def wait_ready(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if "listening on" in self.logtext():
                return
            if self.p.poll() is not None:
                fail("sockproxy exited %s:\n%s" % (self.p.returncode, self.logtext()))
            time.sleep(0.05)
        fail("sockproxy not ready:\n" + self.logtext())

    def wait_exit(self, timeout=30):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            fail("sockproxy did not exit:\n" + self.logtext())

    def logtext(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def raw(path, data, timeout=30, shut=False):
    """Send raw bytes on a unix socket, read until the peer closes."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    try:
        try:
            s.sendall(data)
        except BrokenPipeError:
            pass  # answered and closed before all was sent: read the answer
        if shut:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                x = s.recv(65536)
            except ConnectionResetError:
                break
            if not x:
                break
            out += x
        return out
    finally:
        s.close()


def dechunk(body):
    out, rest = b"", body
    while True:
        line, _, rest = rest.partition(b"\r\n")
        n = int(line, 16)
        if n == 0:
            return out, True
        out, rest = out + rest[:n], rest[n + 2:]
        if not rest:
            return out, False


def parse_response(resp):
    """(status, headers dict lower-case, body de-chunked)."""
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1."):
        fail("no HTTP status line: %r" % resp[:80])
    status = int(lines[0].split(" ")[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding") == "chunked":
        body, _ = dechunk(body)
    return status, hdrs, body


def request(method, target, body=None, ctype=None, close=False):
    """A request exactly as privd's libcurl client writes it (close: with
    Connection: close, for requests sent straight to dockerd)."""
    h = "%s %s HTTP/1.1\r\nHost: docker\r\n" % (method, target)
    if close:
        h += "Connection: close\r\n"
    if ctype:
        h += "Content-Type: %s\r\n" % ctype
    if body is not None:
        h += "Content-Length: %d\r\n" % len(body)
    return h.encode() + b"\r\n" + (body or b"")


def call(path, method, target, body=None, ctype=None, timeout=60):
    if isinstance(body, str):
        body = body.encode()
    if body is not None and ctype is None:
        ctype = "application/json"
    return parse_response(raw(path, request(method, target, body, ctype), timeout))


def direct(method, target, body=None, ctype="application/json", timeout=60):
    """A request straight to dockerd (the oracle's side)."""
    if isinstance(body, str):
        body = body.encode()
    return parse_response(raw(DOCKER_SOCK, request(method, target, body,
                                                   ctype if body is not None else None,
                                                   close=True), timeout))


def create_body(image, policy_mem=512 << 20, cpus=1000000000, pids=128, extra_hc=None):
    hc = {"Memory": policy_mem, "MemorySwap": policy_mem, "NanoCpus": cpus, "PidsLimit": pids}
    hc.update(extra_hc or {})
    return json.dumps({"Image": image, "Cmd": ["sleep", "infinity"], "HostConfig": hc},
                      separators=(",", ":"))


def proxy_create(listen, image):
    """A container through sockproxy, as privd asks for one; its id."""
    st, _, out = call(listen, "POST", "/v1.41/containers/create", create_body(image))
    if st != 201:
        fail("create through sockproxy: %d %r" % (st, out))
    return json.loads(out)["Id"]


def docker_ids(label_value, key="codeward.instance"):
    r = subprocess.run([DOCKER, "ps", "-aq", "--no-trunc", "--filter",
                        "label=%s=%s" % (key, label_value)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail("docker ps: " + r.stderr)
    return r.stdout.split()


def docker_cleanup(label_value):
    ids = docker_ids(label_value)
    if ids:
        subprocess.run([DOCKER, "rm", "-fv"] + ids, capture_output=True)


def docker_inspect(cid):
    r = subprocess.run([DOCKER, "inspect", cid], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)[0]
