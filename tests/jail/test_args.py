"""codeward-jail's argv and jail/seccomp-jail.py, without Docker: a bad
command line never runs the program; codeward-agent refuses jail sizes that
are not plain decimals inside the policy's bounds (and any without -j), as
the zygote refuses a job message whose sizes are; the profile is Docker's default with
exactly the two rules appended, and a profile that is not Docker's default
is refused."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from cwtest import BUILD, SOURCE, check, main  # noqa: E402

JAIL = os.path.join(BUILD, "jail", "codeward-jail")
AGENT = os.path.join(BUILD, "jail", "codeward-agent")
GEN = os.path.join(SOURCE, "jail", "seccomp-jail.py")


def run(argv):
    return subprocess.run([JAIL] + argv, capture_output=True, text=True)


def test_bad_argv_never_runs_the_program():
    for argv in ([], ["--", "echo", "ran"], ["-w", "rel/dir", "--", "echo", "ran"],
                 ["-w", "/tmp"], ["-w", "/tmp", "-t", "0", "--", "echo", "ran"],
                 ["-w", "/tmp", "-t", "12X", "--", "echo", "ran"],
                 ["-w", "/tmp", "-s", "-1", "--", "echo", "ran"],
                 ["-w", "/tmp", "-f", "5000000000", "--", "echo", "ran"],
                 ["-w", "/tmp", "-q", "--", "echo", "ran"]):
        r = run(argv)
        check(r.returncode == 125 and "ran" not in r.stdout and "usage:" in r.stderr,
              "%s: rc %d %r %r" % (argv, r.returncode, r.stdout, r.stderr))


def test_agent_refuses_bad_sizes():
    ok = ["-j", "-t", "1048576", "-s", "17179869184", "-f", "64"]
    for argv in (["-t", "67108864"], ["-j", "-t", "67108864", "-t", "67108864"],
                 ["-j", "-t", "64M"], ["-j", "-t", "067108864"], ["-j", "-t", "1048575"],
                 ["-j", "-s", "17179869185"], ["-j", "-f", "63"], ["-j", "-f", "1048577"],
                 ["-j", "-f", "+100"], ["-j", "-f", ""], ["-j", "-t", "99999999999999999999999"],
                 ["-j", "-x"], ["-j", "extra"]):
        r = subprocess.run([AGENT] + argv, stdin=subprocess.DEVNULL, capture_output=True)
        check(r.returncode == 64 and r.stdout == b"" and r.stderr == b"",
              "agent %s: rc %d %r %r" % (argv, r.returncode, r.stdout, r.stderr))
    # the bounds themselves pass the parse (the agent then goes on: not 64)
    r = subprocess.run([AGENT] + ok, stdin=subprocess.DEVNULL, capture_output=True)
    check(r.returncode != 64 and r.stderr == b"", "agent %s: rc %d" % (ok, r.returncode))


def test_zygote_refuses_bad_sizes():
    sys.path.insert(0, os.path.join(SOURCE, "sandbox", "runner", "python"))
    import cw_jzygote as z
    d = z.JOBS + "j1"
    good = "%s 5000 67108864 16777216 4096" % d
    check(z.parse(good.encode()) == (d, "5000", (64 << 20, 16 << 20, 4096)),
          "zygote: %r" % (z.parse(good.encode()),))
    for msg in ("%s 5000" % d, "%s 5000 64M 16777216 4096" % d,
                "%s 5000 67108864 16777216 63" % d, "%s 5000 1048575 16777216 64" % d,
                "%s 5000 67108864 17179869185 64" % d, "%s 5000 067108864 16777216 64" % d,
                "%s 5000  67108864 16777216 64" % d, "%s 5000 67108864 16777216 64 1" % d,
                "/tmp/x 5000 67108864 16777216 4096"):
        check(z.parse(msg.encode()) is None, "zygote took %r" % msg)


def test_root_is_refused():
    if os.getuid() != 0:
        return
    r = run(["-w", "/tmp", "--", "echo", "ran"])
    check(r.returncode == 125 and "ran" not in r.stdout and "unshare" in r.stderr,
          "as root: rc %d %r %r" % (r.returncode, r.stdout, r.stderr))


FAKE_DEFAULT = {"defaultAction": "SCMP_ACT_ERRNO", "archMap": [], "syscalls": [
    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": []},
    {"names": ["mount", "unshare"], "action": "SCMP_ACT_ALLOW", "args": [],
     "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}


def generate(profile):
    with tempfile.TemporaryDirectory() as d:
        src, out = os.path.join(d, "in.json"), os.path.join(d, "out.json")
        with open(src, "w") as f:
            json.dump(profile, f)
        r = subprocess.run([sys.executable, GEN, src, out], capture_output=True, text=True)
        return r, (json.load(open(out)) if r.returncode == 0 else None)


def test_profile_is_default_plus_two_rules():
    r, out = generate(FAKE_DEFAULT)
    check(r.returncode == 0, r.stderr)
    check(out["syscalls"][:2] == FAKE_DEFAULT["syscalls"], "the default's rules changed")
    delta = out["syscalls"][2:]
    check([d["names"] for d in delta] == [["unshare"], ["mount"]], "delta %s" % delta)
    check(delta[0]["args"] == [{"index": 0, "value": 0x10000000, "valueTwo": 0x10000000,
                                "op": "SCMP_CMP_MASKED_EQ"}], "unshare's rule %s" % delta[0])
    check(delta[1]["args"] == [] and all(d["action"] == "SCMP_ACT_ALLOW" for d in delta),
          "mount's rule %s" % delta[1])
    d = subprocess.run([sys.executable, GEN, "--delta"], capture_output=True, text=True)
    check(d.returncode == 0 and json.loads(d.stdout) == delta, "--delta: %s" % d.stdout)


def test_other_profiles_are_refused():
    allow_all = dict(FAKE_DEFAULT, defaultAction="SCMP_ACT_ALLOW")
    loose = dict(FAKE_DEFAULT, syscalls=[{"names": ["unshare"], "action": "SCMP_ACT_ALLOW",
                                          "args": []}])
    for p in (allow_all, loose):
        r, _ = generate(p)
        check(r.returncode != 0 and "ValueError" in r.stderr, "accepted: %s" % p)


if __name__ == "__main__":
    main(globals())
