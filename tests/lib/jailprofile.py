"""The worker's seccomp profile for tests: the engine's default profile (from
the engine's own Debian source package) with jail/seccomp-jail.py's delta."""
import hashlib
import os
import subprocess
import sys

from cwtest import SOURCE, check

DEBIAN_PROFILE = "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json"


def docker_default_profile(tmp):
    """The engine's default seccomp profile, from the engine's own source."""
    path = os.environ.get("CODEWARD_DOCKER_SECCOMP_DEFAULT", DEBIAN_PROFILE)
    if os.path.exists(path):
        return path
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


def jail_profile(tmp):
    """(path, "sha256:<hex>") of the worker's profile, written in tmp."""
    out = os.path.join(tmp, "seccomp-jail.json")
    subprocess.run([sys.executable, os.path.join(SOURCE, "jail", "seccomp-jail.py"),
                    docker_default_profile(tmp), out], check=True)
    with open(out, "rb") as f:
        return out, "sha256:" + hashlib.sha256(f.read()).hexdigest()
