"""The workers' seccomp profile: jail/seccomp-worker.json, committed, which
jail/seccomp-jail.py makes from the engine's default profile (from the
engine's own Debian source package); tests/policy/test_jail_profile.py
makes it again and holds it to the shipped policy's pin."""
import hashlib
import os
import shutil
import subprocess

from cwtest import SOURCE, check

DEBIAN_PROFILE = "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json"
COMMITTED = os.path.join(SOURCE, "jail", "seccomp-worker.json")


def docker_default_profile(tmp, fetch=True):
    """The engine's default seccomp profile, from the engine's own source;
    None when it is not here and fetch is False."""
    path = os.environ.get("CODEWARD_DOCKER_SECCOMP_DEFAULT", DEBIAN_PROFILE)
    if os.path.exists(path):
        return path
    if not fetch:
        return None
    # the package that ships it pulls in 250 Go packages: take the one file
    r = subprocess.run(["apt-get", "download", "golang-github-docker-docker-dev"],
                       cwd=tmp, capture_output=True, text=True)
    debs = [f for f in os.listdir(tmp) if f.endswith(".deb")]
    check(r.returncode == 0 and len(debs) == 1,
          "Docker's default seccomp profile: neither %s nor the package "
          "golang-github-docker-docker-dev: %s" % (path, r.stderr.strip()))
    deb = os.path.join(tmp, debs[0])
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", tmp, "." + DEBIAN_PROFILE], input=tar.stdout, check=True)
    return os.path.join(tmp, DEBIAN_PROFILE.lstrip("/"))


def profile_sum(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def jail_profile(tmp):
    """(path, "sha256:<hex>") of the workers' profile, the committed one,
    copied into tmp (a test's sockproxy may run as another user)."""
    out = os.path.join(tmp, "seccomp-worker.json")
    shutil.copyfile(COMMITTED, out)
    os.chmod(out, 0o644)
    return out, profile_sum(out)
