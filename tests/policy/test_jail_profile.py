"""The workers' seccomp profile in the tree, jail/seccomp-worker.json
(SECURITY.md, "Jail per execution"):

- its sha256 is the pin of the shipped policy's jail-seccomp, so the
  default policy under isolation jail starts sockproxy with the file as it
  is (scripts/daemons.sh and compose/Dockerfile hand it over unchanged);
- it is jail/seccomp-jail.py's output: made again from the engine's default
  profile (Debian's golang-github-docker-docker-dev, when the file is on
  this machine or CODEWARD_DOCKER_SECCOMP_DEFAULT names it) it is byte for
  byte the committed file; without that file, the committed one is still
  taken apart: Docker's default (the shape seccomp-jail.py accepts) with
  exactly seccomp-jail.py's rules after it.
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

from cwtest import SOURCE, check, main, policy_get
from jailprofile import COMMITTED, docker_default_profile, profile_sum

SCRIPT = os.path.join(SOURCE, "jail", "seccomp-jail.py")


def seccomp_jail():
    spec = importlib.util.spec_from_file_location("seccomp_jail", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_default_policy_pins_the_committed_profile():
    text = open(os.path.join(SOURCE, "policy", "default.policy")).read()
    pin = policy_get(text, "sandbox", "jail-seccomp")
    check(pin == profile_sum(COMMITTED),
          "default.policy's jail-seccomp %s, jail/seccomp-worker.json is %s"
          % (pin, profile_sum(COMMITTED)))


def test_the_committed_profile_is_seccomp_jails_output():
    mod = seccomp_jail()
    with open(COMMITTED) as f:
        prof = json.load(f)
    n = len(mod.DELTA)
    # Docker's default with the delta after it, nothing else
    check(prof["syscalls"][-n:] == json.loads(json.dumps(mod.DELTA)),
          "the profile does not end with seccomp-jail.py's rules")
    base = dict(prof, syscalls=prof["syscalls"][:-n])
    check(mod.jail_profile(base) == prof, "the profile is not its base plus the delta")
    with tempfile.TemporaryDirectory(prefix="cw-seccomp-") as tmp:
        default = docker_default_profile(tmp, fetch=False)
        if default is None:
            print("no engine default profile on this machine: the committed file "
                  "checked by its shape only")
            return
        with open(default) as f:
            check(base == json.load(f), "the profile's base is not %s" % default)
        out = os.path.join(tmp, "seccomp-worker.json")
        subprocess.run([sys.executable, SCRIPT, default, out], check=True)
        check(open(out, "rb").read() == open(COMMITTED, "rb").read(),
              "jail/seccomp-jail.py %s makes another profile than the committed "
              "one: make it again (SECURITY.md) and move the pin" % default)


if __name__ == "__main__":
    main(globals())
