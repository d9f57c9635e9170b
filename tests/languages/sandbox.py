"""Run a program in a codeward sandbox container the way privd and sockproxy do,
with the Docker CLI, for the language tests and measurements.

The container gets the settings sockproxy forces (read-only root, user
10001:10001, no capabilities, no new privileges, no network, /tmp as a tmpfs,
/mnt/data as a tmpfs-backed volume) and the limits of the shipped policy. The
program text and the input files go in as one tar with the sandbox uid, as
privd's tar writer makes it; the runner is the policy's runner for the language;
what comes back is stdout, stderr, the exit status and the files of /mnt/data.

Python standard library only. Without a Docker engine every call raises: the
tests fail, they never skip.
"""
import io
import os
import re
import subprocess
import tarfile
import time

DOCKER = "/usr/bin/docker"
LABEL = "codeward.test=languages"
UID = 10001


def source_root():
    return os.environ.get("CW_SOURCE") or os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))


def image():
    """The image under test: the one ./codeward test built, else :current."""
    return os.environ.get("CODEWARD_SANDBOX_IMAGE") or "codeward-sandbox:current"


def policy_settings(path=None):
    """The [sandbox] settings and each language's runner argv, read from the
    shipped policy (the same words privd would execute)."""
    path = path or os.path.join(source_root(), "policy", "default.policy")
    sandbox, runners, section = {}, {}, None
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            m = re.fullmatch(r"\[(\w+)(?:\s+(\w+))?\]", line)
            if m:
                section = (m.group(1), m.group(2))
                continue
            words = line.split()
            if section == ("sandbox", None):
                sandbox[words[0]] = words[1]
            elif section[0] == "language" and words[0] == "runner":
                runners[section[1]] = words[1:]
    return sandbox, runners


def docker(*args, input=None, timeout=120, check=True):
    r = subprocess.run([DOCKER, *args], input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("docker %s: %s" % (args[0], r.stderr.decode(errors="replace").strip()))
    return r


def _size(v):
    """policy size (512M) to the docker CLI's spelling (512m)."""
    return v.lower()


class Result:
    def __init__(self, status, stdout, stderr, files, seconds, phases):
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.files = files          # name relative to /mnt/data -> bytes
        self.seconds = seconds      # create + start + copy in + exec + copy out
        self.phases = phases        # seconds of each: start, copy-in, exec, copy-out

    def __repr__(self):
        return "status=%d stdout=%r stderr=%r files=%r" % (
            self.status, self.stdout[:400], self.stderr[:1200], sorted(self.files))


def _tar(code, files):
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        dirs = {".codeward"}
        for name in files:
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        for d in sorted(dirs):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode, info.uid, info.gid, info.mtime = 0o755, UID, UID, now
            t.addfile(info)
        for name, data in [(".codeward/code", code)] + sorted(files.items()):
            if isinstance(data, str):
                data = data.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), 0o644, UID, UID, now
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _untar(data):
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for m in t.getmembers():
            # 'docker cp CID:/mnt/data -' names everything data/...
            name = m.name.split("/", 1)[1] if "/" in m.name else ""
            if m.isfile() and name:
                out[name] = t.extractfile(m).read()
            elif m.isdir() and name:
                out[name + "/"] = b""
    return out


def run(lang, code, args=(), files=None, timeout_ms=60000, img=None):
    """One execution in a fresh container, removed afterwards."""
    sandbox, runners = policy_settings()
    if lang not in runners:
        raise RuntimeError("the policy has no runner for %r" % lang)
    if isinstance(code, str):
        code = code.encode()
    t0 = time.monotonic()
    cid = docker(
        "run", "-d", "--pull", "never", "--label", LABEL,
        "--read-only", "--user", "%d:%d" % (UID, UID),
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--network", "none",
        "--memory", _size(sandbox.get("memory", "512M")),
        "--memory-swap", _size(sandbox.get("swap", "512M")),
        "--cpus", sandbox.get("cpus", "1"),
        "--pids-limit", sandbox.get("pids", "128"),
        "--tmpfs", "/tmp:rw,exec,nosuid,nodev,size=%s" % _size(sandbox.get("tmp-size", "64M")),
        "--mount", 'type=volume,dst=/mnt/data,volume-driver=local,'
                   'volume-opt=type=tmpfs,volume-opt=device=tmpfs,'
                   '"volume-opt=o=size=%s,uid=%d,gid=%d,mode=0700"'
                   % (_size(sandbox.get("workdir-size", "256M")), UID, UID),
        img or image(), "sleep", "infinity").stdout.decode().strip()
    phases = {"start": time.monotonic() - t0}
    try:
        t = time.monotonic()
        docker("cp", "-", "%s:/mnt/data" % cid, input=_tar(code, files or {}))
        phases["copy-in"] = time.monotonic() - t
        t = time.monotonic()
        r = docker("exec", "-e", "CW_TIMEOUT_MS=%d" % timeout_ms, "-e", "CW_LANG=" + lang,
                   cid, *runners[lang], *args,
                   timeout=timeout_ms / 1000 + 10, check=False)
        phases["exec"] = time.monotonic() - t
        t = time.monotonic()
        out = _untar(docker("cp", "%s:/mnt/data" % cid, "-").stdout)
        phases["copy-out"] = time.monotonic() - t
        return Result(r.returncode, r.stdout.decode(errors="replace"),
                      r.stderr.decode(errors="replace"), out, time.monotonic() - t0, phases)
    finally:
        docker("rm", "-fv", cid, check=False)


def exec_in_image(*cmd, img=None):
    """Run a command in a throw-away container of the image (for versions)."""
    r = docker("run", "--rm", "--pull", "never", "--label", LABEL, "--network", "none", "--read-only",
               "--tmpfs", "/tmp", img or image(), *cmd, check=False)
    return (r.stdout + r.stderr).decode(errors="replace")
