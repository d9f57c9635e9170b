#!/usr/bin/python3
"""The worker container's seccomp profile: Docker's default plus the least
codeward-jail needs (issue 15; SECURITY.md, "Jail per execution").

    seccomp-jail.py DOCKER_DEFAULT_JSON OUT_JSON
    seccomp-jail.py --delta

DOCKER_DEFAULT_JSON is the engine's own default profile, from the source of
the engine's version (Debian: the docker.io source's package
golang-github-docker-docker-dev ships it as
/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json).
The output is that profile with the rules below appended, nothing removed.
Docker's default refuses these calls without CAP_SYS_ADMIN; the worker has
no capability at all, so without them no namespace can be made.

  unshare   only with CLONE_NEWUSER among its flags: every other namespace
            is made together with a user namespace, which the kernel allows
            an unprivileged process (and then only over what it owns)
  mount     a tmpfs, a bind and (with -p) a proc, inside the new mount
            namespace; in the container's own namespaces the kernel still
            refuses it (no CAP_SYS_ADMIN there)

codeward-jail's own filter takes both back from the jailed program
(jail/jail.c, jail_filter), so only the helper, for the few milliseconds
before its execve, uses them.

Its output is committed as jail/seccomp-worker.json, which sockproxy hands
to every worker and whose sha256 the shipped policy pins (jail-seccomp);
tests/policy/test_jail_profile.py makes it again where the engine's file is
here and fails when the two differ. After a change here or a new engine:

    jail/seccomp-jail.py DEFAULT_JSON jail/seccomp-worker.json
    sha256sum jail/seccomp-worker.json      # the new pin in policy/default.policy
"""
import json
import sys

CLONE_NEWUSER = 0x10000000

DELTA = [
    {"names": ["unshare"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": CLONE_NEWUSER, "valueTwo": CLONE_NEWUSER,
               "op": "SCMP_CMP_MASKED_EQ"}],
     "comment": "codeward-jail: namespaces, always with a user namespace",
     "includes": {}, "excludes": {}},
    {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "args": [],
     "comment": "codeward-jail: tmpfs, bind and proc in its mount namespace",
     "includes": {}, "excludes": {}},
]


def jail_profile(default):
    if default.get("defaultAction") != "SCMP_ACT_ERRNO" or \
            not isinstance(default.get("syscalls"), list):
        raise ValueError("not Docker's default profile: defaultAction %r"
                         % default.get("defaultAction"))
    for rule in default["syscalls"]:
        if rule.get("action") == "SCMP_ACT_ALLOW" and not rule.get("args") \
                and not rule.get("includes") \
                and {"unshare", "mount"} & set(rule["names"]):
            raise ValueError("the default already allows unshare or mount "
                             "unconditionally: not the profile expected")
    out = dict(default)
    out["syscalls"] = list(default["syscalls"]) + DELTA
    return out


def main(argv):
    if argv[1:] == ["--delta"]:
        json.dump(DELTA, sys.stdout, indent=1)
        print()
        return 0
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        default = json.load(f)
    with open(argv[2], "w") as f:
        json.dump(jail_profile(default), f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
