"""The walking skeleton, end to end through the HTTP API on a real engine."""
import json
import time

from cwtest import Appliance, check, main

app = None


def setup():
    global app
    if app is None:
        # no warm pool: under isolation container every container seen
        # belongs to a run; under jail every one is a worker that has served
        app = Appliance(name="skeleton", overrides=[("concurrency", "pool", "0")]).start()
    return app


def test_print_42():
    j = setup().exec("py", "print(6*7)")
    check(j["stdout"] == "42\n", "stdout is %r" % j["stdout"])
    check(len(j["session_id"]) == 21, "session id %r" % j["session_id"])
    check(j["files"] == [], "files %r" % j["files"])


def test_bash_and_stderr():
    j = setup().exec("bash", "echo out; echo err >&2; echo $((2+3))")
    check(j["stdout"] == "out\n5\n", "stdout %r" % j["stdout"])
    check(j["stderr"].startswith("err\n"), "stderr %r" % j["stderr"])


def test_exit_status_reported():
    j = setup().exec("bash", "echo before; exit 3")
    check(j["stdout"] == "before\n", "stdout %r" % j["stdout"])
    check("exit status 3" in j["stderr"], "stderr %r" % j["stderr"])
    check(j["run"]["code"] == 3, "run %r" % j["run"])


def test_syntax_error_is_200():
    j = setup().exec("py", "def (:\n")
    check("SyntaxError" in j["stderr"], "stderr %r" % j["stderr"])
    check(j["run"]["code"] == 1, "run %r" % j["run"])


def test_output_file_comes_back():
    a = setup()
    j = a.exec("py", "open('/mnt/data/out.txt','w').write('hello')")
    names = [f["name"] for f in j["files"]]
    check(names == ["out.txt"], "files %r" % j["files"])
    check(j["files"][0]["storage_session_id"] == j["session_id"], "session %r" % j)


def test_files_without_inputs_are_never_missed():
    """A run with no input files sends its code in the environment and
    fetches /mnt/data only when its stat changed: nothing written, nothing
    fetched; anything written, even deep in new folders, comes back."""
    a = setup()
    j = a.exec("py", "print('nothing written')")
    check(j["files"] == [], "files %r" % j["files"])
    j = a.exec("bash", "mkdir -p a/b/c && echo deep > a/b/c/d.txt")
    check([f["name"] for f in j["files"]] == ["a/b/c/d.txt"], "files %r" % j["files"])
    j = a.exec("bash", "echo x > t.txt && rm t.txt")
    check(j["files"] == [], "a file written then removed: %r" % j["files"])
    # a long program (over the size that travels in the environment)
    code = "# " + "x" * 4000 + "\nopen('long.txt', 'w').write('ok')\n"
    j = a.exec("py", code)
    check([f["name"] for f in j["files"]] == ["long.txt"], "files %r" % j["files"])


def test_auth_missing_and_wrong():
    a = setup()
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "print(1)"}, auth=False)
    check(st == 401 and j["error"] == "unauthorized", "missing key: %s %r" % (st, j))
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "print(1)"}, auth=False,
                      headers={"X-API-Key": "wrong"})
    check(st == 401, "wrong key: %s %r" % (st, j))
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "print(1)"}, auth=False,
                      headers={"x-api-key": a.key[:-1]})
    check(st == 401, "truncated key: %s" % st)
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "print(1)"}, auth=False,
                      headers={"authorization": "Bearer " + a.key})
    check(st == 200, "bearer key: %s %r" % (st, j))


def test_malformed_json_is_400():
    a = setup()
    st, j = a.request("POST", "/v1/exec", b"{\"lang\": \"py\", \"code\": ",
                      headers={"Content-Type": "application/json"})
    check(st == 400 and isinstance(j, dict) and j.get("error"), "%s %r" % (st, j))
    st, j = a.request("POST", "/v1/exec", {"lang": "cobol", "code": "x"})
    check(st == 400 and j["error"] == "unsupported_language", "%s %r" % (st, j))


def test_health():
    st, j = setup().request("GET", "/v1/health", auth=False)
    check(st == 200, "health %s %r" % (st, j))


def test_no_container_left_after_runs():
    a = setup()
    a.exec("bash", "true")
    j = a.exec("bash", "(sleep 777 &); echo left")
    check(j["stdout"] == "left\n", "the run that leaves a process: %r" % j)
    deadline = time.time() + 10
    if a.isolation == "container":
        # the sandbox is removed right after the answer is sent
        while a.leftovers() and time.time() < deadline:
            time.sleep(0.05)
        check(a.leftovers() == [], "containers left: %r" % a.leftovers())
        return
    # under jail the workers stay (privd/wpool.c: at most the larger of
    # 'pool' and 'total' per image), and nothing of a finished run in them
    check(a.leftovers() != [], "no worker at all: the check below saw nothing")
    while a.worker_report() and time.time() < deadline:
        time.sleep(0.1)
    check(a.worker_report() == {}, "left by the runs: %r" % a.worker_report())


def test_zz_stop_leaves_nothing():
    global app
    a = setup()
    app = None
    a.stop()   # raises when a container is left behind


if __name__ == "__main__":
    try:
        main(globals())
    finally:
        if app is not None:
            app.stop(check_leftovers=False)
