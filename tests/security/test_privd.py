"""privd with a fake frontd on the other end of the socketpair (no Docker
needed): its confinement, the seccomp filter it holds in every thread
(exactly privd's, which try-syscall shows killing its forbidden calls), and a
hostile frontd: every malformed, out-of-state or
wrongly-equipped message ends privd (exit 1, "protocol violation") before it
answers anything. That privd creates no container meanwhile is checked
against the real engine in test_appliance.py."""
import time

from cwsec import PrivdAlone, check_confined, check_filter, threads, wait_exit
from cwtest import check, main

HOSTILE = [
    # sizes
    "short", "long", "huge", "header-len", "run-padded", "empty",
    # types
    "unknown-type", "reply-type", "health-reply-type", "policy-type",
    # states
    "file-when-idle", "run-when-idle", "begin-twice", "health-while-building", "id-switch",
    "more-files", "missing-files",
    # fields
    "id-zero", "reserved", "unterminated-lang", "unterminated-user", "unterminated-args",
    "unterminated-name", "bytes-after-nul", "lang-class", "user-class", "unknown-opts",
    "begin-reserved", "argc-mismatch", "args-not-utf8", "name-dotdot", "name-absolute",
    # descriptors
    "fd-on-run", "fd-on-health", "begin-without-fd", "begin-two-fds", "many-fds",
    "unsealed-code", "code-size-lie", "socket-as-code", "writable-file", "dir-as-file",
    "opath-file", "file-size-lie",
]


def test_confined():
    with PrivdAlone("idle", name="conf") as p:
        p.wait_running()
        check_confined(p.proc.pid, "codeward-priv", "privd")
        p.stop()
        check(p.proc.returncode == 0, "privd stop: exit %r\n%s" % (p.proc.returncode, p.text_log()))
        check("frontd exited with status 0" in p.text_log(),
              "frontd's end not logged:\n" + p.text_log())


def test_filter_is_privds():
    """What the test triggers proved, without them: every thread of the
    running privd holds exactly privd's filter (privd/filter.c);
    tests/security/try_syscall.c shows that filter killing socket(AF_INET),
    execve, openat (privd opens nothing after its drop, not even a file it
    may read), ptrace and fork (threads yes, processes no), in a thread made
    before it and in one made after, and letting socket(AF_UNIX) through."""
    with PrivdAlone("idle", name="filter") as p:
        p.wait_running()
        check(len(threads(p.proc.pid)) >= 2, "privd threads %r" % threads(p.proc.pid))
        check_filter(p.proc.pid, "privd")
        time.sleep(0.2)
        check(p.proc.poll() is None, "privd ended after the check:\n" + p.text_log())


def test_health_is_answered():
    """The fake frontd's well-formed HEALTH gets an answer: the harness can
    tell an answer from a refusal."""
    with PrivdAlone("health", name="health") as p:
        p.wait_running()
        for _ in range(200):
            if p.result() is not None:
                break
            time.sleep(0.05)
        r = p.result()
        check(r is not None and r["answers"] == [66], "health: %r\n%s" % (r, p.text_log()))


def test_auth_none_is_loud():
    with PrivdAlone("idle", overrides=[("auth", "mode", "none")], name="none") as p:
        p.wait_running()
        check("AUTH IS OFF" in p.text_log(), "privd did not log mode none:\n" + p.text_log())
    with PrivdAlone("idle", name="notnone") as p:
        p.wait_running()
        check("AUTH IS OFF" not in p.text_log(), "AUTH IS OFF in api-key mode")


def hostile(script):
    with PrivdAlone(script, name="h-" + script) as p:
        rc = wait_exit(p.proc, 30, "privd facing '%s'" % script)
        log = p.text_log()
        r = p.result()
        check(rc == 1, "%s: privd exit %r, want 1\n%s" % (script, rc, log))
        check("protocol violation" in log, "%s: no protocol violation logged\n%s" % (script, log))
        check(r is not None, "%s: the fake frontd left no report\n%s" % (script, log))
        check(r["error"] is None, "%s: fake frontd: %s" % (script, r["error"]))
        check(r["answers"] == [], "%s: privd answered %r" % (script, r["answers"]))
        check(r["eof"], "%s: privd did not close the connection" % script)
        check("run " not in log, "%s: privd started a run\n%s" % (script, log))


def make(script):
    def t():
        hostile(script)
    t.__name__ = "test_hostile_" + script.replace("-", "_")
    return t


for _s in HOSTILE:
    globals()["test_hostile_" + _s.replace("-", "_")] = make(_s)


if __name__ == "__main__":
    main(globals())
