"""Files through POST /v1/exec on a whole appliance and the real engine:
both files[] generations, later duplicates win, nested names, unchanged
inputs not listed, changed ones listed, deleted ones in deleted_files,
missing and foreign references, ids of the wrong form, the request's
timeout under the policy's cap, unknown fields, the old generation's key in
the body never logged, and a 100 MB upload with frontd's memory measured."""
import os
import time

from cwhttp import Client, big_upload, content_type, is_id, vm_hwm_kb
from cwtest import Appliance, check, main

USER_A = "6650f1c2a1b2c3d4e5f60718"
USER_B = "6650f1c2a1b2c3d4e5f60799"

app = None


def setup():
    global app
    if app is None:
        app = Appliance([("time", "default", "3s"), ("time", "max", "4s")],
                        name="files-exec").start()
    return app


def client():
    return Client(setup().port, {"X-API-Key": setup().key})


def upload(name, data, kind="user", owner=USER_A):
    parts = [("kind", kind), ("id", owner), ("file", name, data, "application/octet-stream")]
    r = client().upload(parts, headers={"User-Id": owner} if kind == "user" else {})
    check(r.status == 200, "upload %s: %r" % (name, r))
    j = r.json()
    return {"id": j["files"][0]["fileId"], "storage_session_id": j["session_id"], "name": name,
            "kind": kind, "resource_id": owner}


def exec_(body, want=200):
    r = client().request("POST", "/v1/exec", body)
    check(r.status == want, "exec answered %d, wanted %d: %r" % (r.status, want, r))
    return r.json()


def test_both_generations_of_file_references():
    f = upload("data.csv", b"a,b\n1,2\n")
    old = {"id": f["id"], "session_id": f["storage_session_id"], "name": "data.csv"}
    for ref in (f, old):
        j = exec_({"lang": "bash", "code": "cat /mnt/data/data.csv", "files": [ref],
                   "user_id": USER_A})
        check(j["stdout"] == "a,b\n1,2\n", "%r: %r" % (ref, j))
        check(j["files"] == [], "an unchanged input is listed as new: %r" % j)


def test_an_input_sent_again_in_a_session_is_not_deleted():
    # the session's sandbox already holds the input from its last call: the
    # same input sent again, unchanged, is neither new nor deleted
    f = upload("again.txt", b"same")
    body = {"lang": "bash", "code": "cat again.txt", "files": [f], "user_id": USER_A,
            "runtime_session_hint": "again"}
    for call in ("new", "reused"):
        r = client().request("POST", "/v1/exec", body,
                             headers={"X-CodeAPI-Expected-Profile": "stateful"})
        check(r.status == 200, "exec: %r" % r)
        j = r.json()
        check(j.get("runtime_status") == call and j["stdout"] == "same", "%s call: %r" % (call, j))
        check(j["files"] == [] and "deleted_files" not in j, "%s call: %r" % (call, j))


def test_later_duplicate_wins():
    one = upload("dup.txt", b"first")
    two = upload("dup.txt", b"second")
    j = exec_({"lang": "bash", "code": "cat /mnt/data/dup.txt", "files": [one, two]})
    check(j["stdout"] == "second", "later duplicate: %r" % j)
    j = exec_({"lang": "bash", "code": "cat /mnt/data/dup.txt", "files": [two, one]})
    check(j["stdout"] == "first", "later duplicate: %r" % j)
    check(j["files"] == [] and "deleted_files" not in j, "%r" % j)


def test_nested_names_in_and_out():
    f = upload("in/sub dir/x.txt", b"nested")
    ref = dict(f, name="in/sub dir/x.txt")
    j = exec_({"lang": "bash", "files": [ref],
               "code": "cat '/mnt/data/in/sub dir/x.txt'; mkdir -p /mnt/data/out/deep; "
                       "echo made > /mnt/data/out/deep/y.txt"})
    check(j["stdout"] == "nested", "%r" % j)
    check([x["name"] for x in j["files"]] == ["out/deep/y.txt"], "nested output %r" % j)
    r = client().request("GET", "/v1/download/%s/%s" % (j["session_id"], j["files"][0]["id"]))
    check(r.status == 200 and r.body == b"made\n", "%r" % r)
    check(r.header("Content-Disposition") == 'attachment; filename="y.txt"', "%r" % r.headers)


def test_changed_listed_unchanged_not_deleted_reported():
    keep = upload("keep.txt", b"same")
    change = upload("change.txt", b"old")
    gone = upload("gone.txt", b"bye")
    j = exec_({"lang": "bash", "files": [keep, change, gone],
               "code": "echo new > /mnt/data/change.txt; rm /mnt/data/gone.txt; echo x > /mnt/data/fresh.txt"})
    names = sorted(x["name"] for x in j["files"])
    check(names == ["change.txt", "fresh.txt"], "listed %r" % j)
    check(j.get("deleted_files") == ["gone.txt"], "deleted %r" % j)
    for x in j["files"]:
        check(is_id(x["id"]) and x["storage_session_id"] == j["session_id"], "%r" % x)
    changed = [x for x in j["files"] if x["name"] == "change.txt"][0]
    r = client().request("GET", "/v1/download/%s/%s" % (j["session_id"], changed["id"]))
    check(r.body == b"new\n", "changed bytes %r" % r)
    # the input itself is untouched in its own session
    r = client().request("GET", "/v1/download/%s/%s" % (change["storage_session_id"], change["id"]))
    check(r.body == b"old", "the input changed in the store: %r" % r)


def test_missing_reference_names_it():
    f = upload("here.txt", b"x")
    missing = dict(f, id="Z" * 21, name="missing.csv")
    j = exec_({"lang": "bash", "code": "true", "files": [f, missing]}, want=404)
    check(j["error"] == "file_not_found" and "missing.csv" in j["message"] and
          "Z" * 21 in j["message"] and "files[1]" in j["message"], "%r" % j)


def test_ids_of_the_wrong_form_are_400():
    f = upload("here.txt", b"x")
    for bad in ({"id": "short"}, {"id": f["id"] + "."}, {"storage_session_id": "a/b"},
                {"id": 12345}):
        ref = dict(f, **bad)
        j = exec_({"lang": "bash", "code": "true", "files": [ref]}, want=400)
        check(j["error"] == "bad_file_reference", "%r: %r" % (bad, j))
    j = exec_({"lang": "bash", "code": "true", "files": [dict(f, name="../escape")]}, want=400)
    check(j["error"] == "bad_file_reference" and "name" in j["message"], "%r" % j)


def test_another_users_file_is_404():
    mine = upload("private.txt", b"secret", owner=USER_A)
    j = exec_({"lang": "bash", "code": "cat /mnt/data/private.txt", "files": [mine],
               "user_id": USER_B}, want=404)
    check(j["error"] == "file_not_found", "%r" % j)
    j = exec_({"lang": "bash", "code": "cat /mnt/data/private.txt", "files": [mine],
               "user_id": USER_A})
    check(j["stdout"] == "secret", "%r" % j)
    # an agent's file is shared
    shared = upload("shared.txt", b"for all", kind="agent", owner="agent_abc")
    j = exec_({"lang": "bash", "code": "cat /mnt/data/shared.txt", "files": [shared],
               "user_id": USER_B})
    check(j["stdout"] == "for all", "%r" % j)
    # outputs belong to the user who ran the code
    j = exec_({"lang": "bash", "code": "echo o > /mnt/data/o.txt", "user_id": USER_A})
    o = j["files"][0]
    c = client()
    r = c.request("GET", "/v1/download/%s/%s?kind=user&id=%s" % (j["session_id"], o["id"], USER_B))
    check(r.status == 404, "another user's output: %r" % r)
    r = c.request("GET", "/v1/download/%s/%s?kind=user&id=%s" % (j["session_id"], o["id"], USER_A))
    check(r.status == 200 and r.body == b"o\n", "%r" % r)


def test_timeout_honoured_up_to_the_policy():
    t0 = time.time()
    j = exec_({"lang": "bash", "code": "echo start; sleep 20", "timeout": 1000})
    check(time.time() - t0 < 15, "took %.1f s" % (time.time() - t0))
    check(j["stdout"] == "start\n" and "time limit 1s" in j["stderr"], "%r" % j)
    # a request may not go past the policy's max (4 s here)
    t0 = time.time()
    j = exec_({"lang": "bash", "code": "sleep 20", "timeout": 600000})
    check("time limit 4s" in j["stderr"] and time.time() - t0 < 18, "%r" % j)


def test_unknown_fields_ignored_and_key_never_logged():
    marker = "cw_marker_" + os.urandom(8).hex()
    j = exec_({"lang": "py", "code": "print(2+2)", "LIBRECHAT_CODE_API_KEY": marker,
               "codeSessionKey": "execute_code", "entity_id": "agent_x", "surprise": {"a": [1, None]},
               "user_id": USER_A, "args": [], "session_id": "m5tdw6-vFmpaWAI211knO"})
    check(j["stdout"] == "4\n", "%r" % j)
    a = setup()
    logs = a.log("privd") + a.log("sockproxy")
    check(marker not in logs, "LIBRECHAT_CODE_API_KEY reached a log")
    # a stateful ask (header or hint) still runs; 'default' is the ordinary run
    for hdr, hint in (("stateful", "rs_abc"), ("default", None), ("STATEFUL", "")):
        body = {"lang": "bash", "code": "echo ok"}
        if hint is not None:
            body["runtime_session_hint"] = hint
        r = client().request("POST", "/v1/exec", body, headers={"x-codeapi-expected-profile": hdr})
        check(r.status == 200 and r.json()["stdout"] == "ok\n", "%s/%r: %r" % (hdr, hint, r))


def frontd_pid(a):
    privd = a.procs["privd"].pid
    kids = []
    for t in os.listdir("/proc/%d/task" % privd):
        try:
            kids += open("/proc/%d/task/%s/children" % (privd, t)).read().split()
        except OSError:
            pass
    for k in kids:
        if open("/proc/%s/comm" % k).read().strip().startswith("codeward-front"):
            return int(k)
    raise AssertionError("no frontd under privd %d" % privd)


def test_upload_100mb_frontd_memory_low():
    a = setup()
    pid = frontd_pid(a)
    size = 100 * 1024 * 1024
    body, h = big_upload([("kind", "user"), ("id", USER_A)], "big.bin", size)
    before = vm_hwm_kb(pid)
    t0 = time.time()
    r = client().request("POST", "/v1/upload", body, headers={"Content-Type": content_type()},
                         chunked=True)
    took = time.time() - t0
    check(r.status == 200, "100 MB upload %r" % r)
    after = vm_hwm_kb(pid)
    print("frontd VmHWM %d kB before, %d kB after a 100 MB chunked upload (%.1f s)" %
          (before, after, took))
    check(after < 64 * 1024, "frontd's resident high-water mark reached %d kB" % after)
    j = r.json()
    o = client().request("GET", "/v1/sessions/%s/objects/%s" % (j["session_id"], j["files"][0]["fileId"])).json()
    check(o["size"] == size and o["etag"] == h.hexdigest(), "%r" % o)


def test_zz_stop_leaves_nothing():
    global app
    a = setup()
    app = None
    a.stop()


if __name__ == "__main__":
    try:
        main(globals())
    finally:
        if app is not None:
            app.stop(check_leftovers=False)
