"""The walk of a run's work directory on the real engine (issue 14, item 7):
a file with a 150-byte name, 3000 small files and a normal out.txt. The long
name is skipped and counted in /metrics, out.txt comes back, the files over
the per-session cap are dropped (the walk goes on), and of the inputs only
the one the run removed is in deleted_files -- an input that sorts after
every one of them (the archive is in name order) is still seen."""
import re

from cwhttp import Client
from cwtest import Appliance, check, main

USER = "6650f1c2a1b2c3d4e5f60718"

app = None


def setup():
    global app
    if app is None:
        app = Appliance([("time", "default", "30s"), ("time", "max", "30s")],
                        name="output-walk").start()
    return app


def client():
    return Client(setup().port, {"X-API-Key": setup().key})


def upload(name, data):
    return client().upload_input(USER, name, data)


def skipped(reason):
    r = client().request("GET", "/metrics")
    check(r.status == 200, "/metrics: %r" % r)
    m = re.search(r'^codeward_output_entries_skipped_total\{reason="%s"\} (\d+)$' % reason,
                  r.body.decode(), re.M)
    check(m is not None, "no codeward_output_entries_skipped_total{reason=%s}" % reason)
    return int(m.group(1))


def test_long_name_and_many_files_do_not_stop_the_walk():
    keep = upload("keep.txt", b"keep")
    last = upload("zz-last.txt", b"sorts after every file the run makes")
    gone = upload("gone.txt", b"bye")
    before = skipped("name_too_long")
    code = ("cd /mnt/data && echo long > " + "L" * 150 + " && mkdir s && "
            "for i in $(seq 1 3000); do echo $i > s/f$i; done && rm gone.txt && "
            "echo done > out.txt && echo ok")
    r = client().request("POST", "/v1/exec", {"lang": "bash", "code": code, "user_id": USER,
                                              "files": [keep, last, gone]})
    check(r.status == 200, "exec: %r" % r)
    j = r.json()
    check(j["stdout"] == "ok\n", "stdout %r stderr %r" % (j["stdout"], j["stderr"]))
    names = [f["name"] for f in j["files"]]
    check("out.txt" in names, "out.txt not returned: %d files, stderr %r" % (len(names), j["stderr"]))
    check(not any(n.startswith("L") for n in names), "the long name came back")
    # every input still there is not deleted; the removed one is
    check(j.get("deleted_files") == ["gone.txt"], "deleted_files %r" % j.get("deleted_files"))
    # the per-session cap dropped the rest of the 3000, said so in stderr
    check(len(names) <= 256 and "were not returned" in j["stderr"], "stderr %r" % j["stderr"])
    r = client().request("GET", "/v1/download/%s/%s" % (
        j["session_id"], [f for f in j["files"] if f["name"] == "out.txt"][0]["id"]))
    check(r.status == 200 and r.body == b"done\n", "out.txt %r" % r)
    check(skipped("name_too_long") == before + 1, "the long name not counted once")


def test_an_empty_run_reports_nothing_deleted():
    f = upload("stay.txt", b"x")
    r = client().request("POST", "/v1/exec", {"lang": "bash", "code": "true", "files": [f]})
    check(r.status == 200 and r.json()["files"] == [] and "deleted_files" not in r.json(),
          "%r" % r)


if __name__ == "__main__":
    try:
        main(globals())
    finally:
        if app is not None:
            app.stop()
