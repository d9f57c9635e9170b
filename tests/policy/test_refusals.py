"""What a user sees when the policy refuses a request, through the HTTP API of
a whole appliance on the real engine: 429 for too many runs at once, 413 for
sizes and counts, each with a JSON reason; and a refused request leaves the
appliance as it was (the next run works, no container is left).

The appliance runs the shipped policy with a small work directory (8M), so
that inputs which do not fit are cheap to make.

No Docker engine: every test fails, none is skipped.
"""
import threading
import time

from cwtest import Appliance, check, main
from sandboxes import ExecWatch, settle, stop_after_failure

app = None
WORKDIR = 8 << 20


watch = None


def setup():
    global app, watch
    if app is None:
        # queue 0: a run over a cap is refused at once (the shipped queue would let it wait)
        a = Appliance(overrides=[("sandbox", "workdir-size", "8M"), ("concurrency", "queue", "0")],
                      name="refusals")
        watch = ExecWatch(a.instance)
        app = a.start()
    return app


def settled(a):
    settle(a, watch)


def still_works(a):
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "print(6*7)"})
    check(st == 200 and j["stdout"] == "42\n", "the next run: %s %r" % (st, j))
    settled(a)


def sleepers(a, users, seconds=3):
    """one sleeping run per user name, all at once; their answers"""
    out = [None] * len(users)

    def one(i, u):
        out[i] = a.request("POST", "/v1/exec", {"lang": "py", "user_id": u,
                                                 "code": "import time; time.sleep(%d)" % seconds})

    ts = [threading.Thread(target=one, args=(i, u)) for i, u in enumerate(users)]
    for t in ts:
        t.start()
    return ts, out


def busy(a, user):
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "user_id": user, "code": "print(1)"})
    return st, j


def test_per_user_cap_429():
    a = setup()
    ts, out = sleepers(a, ["alice", "alice"])
    time.sleep(1.5)
    st, j = busy(a, "alice")
    st2, j2 = busy(a, "bob")          # another user still gets in
    for t in ts:
        t.join()
    check(st == 429 and j.get("error") == "rate_limited" and j.get("message") and
          j.get("retry_after_seconds") == 1, "a third run of one user: %s %r" % (st, j))
    check(st2 == 200, "another user's run: %s %r" % (st2, j2))
    check(all(o[0] == 200 for o in out), "the sleeping runs: %r" % out)
    still_works(a)


def test_total_cap_429():
    a = setup()
    ts, out = sleepers(a, ["u1", "u1", "u2", "u2"])
    time.sleep(1.5)
    st, j = busy(a, "u3")
    for t in ts:
        t.join()
    check(st == 429 and j.get("error") == "rate_limited", "a fifth run: %s %r" % (st, j))
    check(all(o[0] == 200 for o in out), "the sleeping runs: %r" % out)
    still_works(a)


def test_code_too_large_413():
    a = setup()
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "#" * ((512 << 10) + 1)})
    check(st == 413 and j.get("error") == "code_too_large" and "524288" in j.get("message", ""),
          "%s %r" % (st, j))
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "#" * (512 << 10)})
    check(st == 200, "code of exactly code-max: %s %r" % (st, j))
    still_works(a)


def test_too_many_files_413():
    a = setup()
    ref = {"id": "a" * 21, "storage_session_id": "b" * 21, "name": "x"}
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "pass", "files": [ref] * 65})
    check(st == 413 and j.get("error") == "too_many_files", "%s %r" % (st, j))
    still_works(a)


def test_inputs_larger_than_workdir_413():
    # three outputs of 3M each are stored; together they do not fit in an
    # 8M work directory, so privd refuses the run that asks for all three
    a = setup()
    files = []
    for n in "abc":
        st, j = a.request("POST", "/v1/exec", {"lang": "py", "code":
                          "open('/mnt/data/%s.bin', 'wb').write(b'x' * (3 << 20))\n" % n})
        check(st == 200 and len(j["files"]) == 1, "making %s.bin: %s %r" % (n, st, j))
        files.append({"id": j["files"][0]["id"], "name": j["files"][0]["name"],
                      "storage_session_id": j["files"][0]["storage_session_id"]})
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "print(1)", "files": files[:2]})
    check(st == 200 and j["stdout"] == "1\n", "two inputs (6M) in 8M: %s %r" % (st, j))
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "print(1)", "files": files})
    check(st == 413 and j.get("error") == "too_large" and "work directory" in j.get("message", ""),
          "three inputs (9M) in 8M: %s %r" % (st, j))
    still_works(a)


def test_unknown_language_400():
    a = setup()
    st, j = a.request("POST", "/v1/exec", {"lang": "cobol", "code": "x"})
    check(st == 400 and j.get("error") == "unsupported_language", "%s %r" % (st, j))


def test_zz_stop():
    global app
    a = setup()
    app = None
    settled(a)
    a.stop()


if __name__ == "__main__":
    try:
        main(globals())
    finally:
        if app is not None:
            stop_after_failure(app)
