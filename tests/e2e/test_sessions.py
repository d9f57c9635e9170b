"""Stateful sessions (policy 'sessions'), as LibreChat's stateful profile uses
them: the calls of one user with one session hint reuse one sandbox, whose
/mnt/data persists; each call still gets fresh processes and an empty /tmp
(under isolation jail too, where the session also keeps its live Python
interpreter: tests/jail/test_sessions_api.py).

A process is looked for with pgrep -f '^sleep N': under isolation jail the
call's /proc is its worker's (SECURITY.md, "No fresh /proc by default"), so
pgrep cannot tell itself from the rest, and an unanchored pattern would find
pgrep's own command line."""
import time

from cwtest import Appliance, check, main

app = None
STATEFUL = {"X-CodeAPI-Expected-Profile": "stateful"}


def setup():
    global app
    if app is None:
        app = Appliance(name="sessions", overrides=[("concurrency", "sessions", "4"),
                                                    ("concurrency", "session-idle", "6s"),
                                                    ("time", "default", "5s")]).start()
    return app


def call(code, hint="conv-1", user="u1", lang="bash", headers=STATEFUL, **extra):
    body = {"lang": lang, "code": code, "user_id": user}
    if hint is not None:
        body["runtime_session_hint"] = hint
    body.update(extra)
    st, j = setup().request("POST", "/v1/exec", body, headers=headers)
    check(st == 200, "exec: %s %r" % (st, j))
    return j


def test_a_session_keeps_files_not_processes_or_tmp():
    j1 = call("echo one > a.txt; mkdir -p d; echo x > d/x; (sleep 300 &); echo t > /tmp/t; echo done",
              hint="keep")
    check(j1["runtime_status"] == "new", "first call %r" % j1)
    check(sorted(f["name"] for f in j1["files"]) == ["a.txt", "d/x"], "files %r" % j1["files"])
    j2 = call("cat a.txt d/x; ls -A /tmp | grep -v '^cw\\.' ; pgrep -c -f '^sleep 300' || true",
              hint="keep")
    check(j2["runtime_status"] == "reused", "second call %r" % j2)
    check(j2["runtime_session_id"] == j1["runtime_session_id"], "another session %r" % j2)
    check(j2["stdout"] == "one\nx\n.codeward-zygote\n.config\n0\n" or
          j2["stdout"] == "one\nx\n.config\n0\n" or j2["stdout"] == "one\nx\n0\n",
          "files kept, /tmp emptied, the background process gone: %r" % j2["stdout"])
    check(j2["files"] == [], "files of an earlier call listed again: %r" % j2["files"])
    j3 = call("echo two >> a.txt; echo new > b.txt", hint="keep")
    check(sorted(f["name"] for f in j3["files"]) == ["a.txt", "b.txt"],
          "only what this call changed: %r" % j3["files"])


def test_hint_and_user_name_the_session():
    a = call("echo a > mine.txt", hint="h1", user="alice")
    b = call("ls", hint="h2", user="alice")
    c = call("ls", hint="h1", user="bob")
    check(b["runtime_status"] == "new" and c["runtime_status"] == "new", "%r %r" % (b, c))
    check(len({a["runtime_session_id"], b["runtime_session_id"], c["runtime_session_id"]}) == 3,
          "sessions shared across hints or users")
    check("mine.txt" not in b["stdout"] + c["stdout"], "another session's files seen")


def test_python_in_a_session():
    call("open('p.txt', 'w').write('py')", hint="py", lang="py")
    j = call("print(open('p.txt').read())", hint="py", lang="py")
    check(j["runtime_status"] == "reused" and j["stdout"] == "py\n", "%r" % j)


def test_python_calls_keep_no_processes_or_tmp():
    # what a py call starts is gone by the next call, its interpreter or not
    j = call("import subprocess\nkid = subprocess.Popen(['sleep', '301'])\n"
             "open('/tmp/pt', 'w').write('t')\nopen('/dev/shm/ps', 'w').write('s')\n"
             "open('kept.txt', 'w').write('k\\n')", hint="pykeep", lang="py")
    check(j["stderr"] == "" and [f["name"] for f in j["files"]] == ["kept.txt"], "%r" % j)
    j = call("cat kept.txt; ls -A /tmp | grep -v '^cw\\.'; pgrep -c -f '^sleep 301' || true",
             hint="pykeep")
    check(j["runtime_status"] == "reused" and
          j["stdout"] in ("k\n.codeward-zygote\n.config\n0\n", "k\n.config\n0\n", "k\n0\n"),
          "the file kept, /tmp emptied, the child gone: %r" % j["stdout"])
    if setup().isolation == "jail":
        # a deep tree of unreadable directories goes too, the interpreter stays
        j = call("import os\nos.chdir('/tmp')\nfor i in range(1500):\n    os.mkdir('d')\n"
                 "    os.chdir('d')\nos.mkdir('z')\nos.chmod('z', 0)\nos.chdir('/mnt/data')\n"
                 "os.chmod('/tmp/d', 0)", hint="pykeep", lang="py")
        check(j["stderr"] == "", "the deep tree: %r" % j)
        j = call("ls -A /dev/shm; ls -A /tmp | grep -v -e '^cw\\.' -e '^\\.config$'",
                 hint="pykeep")
        check(j["stdout"] == "", "/dev/shm and /tmp emptied: %r" % j["stdout"])
        j = call("print(kid.poll() is not None, kid.wait())", hint="pykeep", lang="py")
        check(j["stdout"] in ("True -9\n", "True 0\n"), "the interpreter lives on, its child "
              "ended: %r" % j)


def test_a_traceback_shows_lines_of_earlier_calls():
    define = "def f(v):\n    raise ValueError('bad %d' % v)  # the line of call 1\n"
    if setup().isolation == "jail":    # the session's live interpreter
        call(define, hint="tb", lang="py")
        call("y = 2", hint="tb", lang="py")
        j = call("print('before')\nf(3)\n", hint="tb", lang="py")
    else:                              # a fresh program each call
        j = call(define + "print('before')\nf(3)\n", hint="tb", lang="py")
    check(j["stdout"] == "before\n" and "ValueError: bad 3" in j["stderr"] and
          "# the line of call 1" in j["stderr"] and "    f(3)" in j["stderr"],
          "the traceback with both calls' lines: %r" % j["stderr"])


def test_a_file_changed_in_place_comes_back():
    # appending to a file the session already holds leaves /mnt/data's own
    # stat alone: the change must still be returned
    call("echo 1 > grow.txt", hint="inplace")
    j = call("echo 2 >> grow.txt", hint="inplace")
    check(j["runtime_status"] == "reused" and [f["name"] for f in j["files"]] == ["grow.txt"],
          "%r" % j)


def test_quick_calls_reuse_the_session():
    call("echo 1 > n", hint="quick")
    for i in range(2, 5):
        j = call("echo %d >> n; wc -l < n" % i, hint="quick")
        check(j["runtime_status"] == "reused" and j["stdout"] == "%d\n" % i, "call %d: %r" % (i, j))


def test_a_call_killed_at_its_time_limit_keeps_the_session():
    # privd's reset ends the killed program and what it started; the
    # session's files, and the one the killed call wrote, stay
    call("echo k > k.txt", hint="kill")
    j = call("echo w > w.txt; (sleep 1000 &); while :; do :; done", hint="kill", timeout=3000)
    check(j["run"].get("killed") == "time", "%r" % j["run"])
    check([f["name"] for f in j["files"]] == ["w.txt"], "files of the killed call: %r" % j)
    check(j["stderr"].endswith("[codeward] killed: time limit 3s exceeded\n"),
          "stderr %r" % j["stderr"])
    j = call("ls; pgrep -c -f '^sleep 1000' || true", hint="kill")
    check(j["runtime_status"] == "reused" and j["stdout"] == "k.txt\nw.txt\n0\n", "%r" % j)


def test_stateless_calls_have_no_session():
    j = call("echo s", hint=None, headers={})
    check("runtime_status" not in j and "runtime_session_id" not in j, "%r" % j)


def test_an_idle_session_expires():
    call("echo e > e.txt", hint="idle")
    time.sleep(9)
    j = call("ls", hint="idle")
    check(j["runtime_status"] == "new" and "e.txt" not in j["stdout"], "%r" % j)


def test_zz_stop_leaves_nothing():
    global app
    a = setup()
    app = None
    a.stop()   # kept sandboxes are removed too


def test_policy_without_sessions_answers_stateless():
    with Appliance(name="nosessions", overrides=[("concurrency", "sessions", "0")]) as a:
        st, j = a.request("POST", "/v1/exec", {"lang": "bash", "code": "echo",
                                               "runtime_session_hint": "x"}, headers=STATEFUL)
        check(st == 200 and "runtime_status" not in j, "%s %r" % (st, j))


if __name__ == "__main__":
    try:
        main(globals())
    finally:
        if app is not None:
            app.stop(check_leftovers=False)
