"""A run whose answer is already committed to 200 (no result within 3 s: the
keep-alive spaces have gone out) and that then fails: the body is still one
whole JSON document (the chunked framing ends properly, no cut connection),
and the failure is in its "stderr" -- the field LibreChat's client prints for
a 200 -- with "error" and "message" beside it for other clients.
README.md, "Errors after 3 seconds"."""
import http.client
import json
import threading
import time

from cwtest import Appliance, check, containers_with_label, docker_api, main

# one appliance without a pool: the only sandbox is the run's own
APP = []


def setup():
    return APP[0]


def late_run(code, fault, after=4.0):
    """POST the run; after 'after' seconds call fault(); the raw answer."""
    a = setup()
    t = threading.Timer(after, fault)
    t.start()
    c = a.conn(timeout=120)
    t0 = time.time()
    try:
        c.request("POST", "/v1/exec", body=json.dumps({"lang": "bash", "code": code}),
                  headers={"X-API-Key": a.key, "Content-Type": "application/json"})
        r = c.getresponse()
        # http.client raises IncompleteRead on a cut chunked body
        payload = r.read()
        framed = r.getheader("Transfer-Encoding") == "chunked" or \
            r.getheader("Content-Length") == str(len(payload))
        # the status went out at 3 s: any answer after it is a late one
        check(time.time() - t0 > 3.5, "answered before the run was committed to 200")
        return r.status, r.getheader("Content-Type"), framed, payload
    finally:
        t.cancel()
        c.close()


def parse(payload):
    try:
        return json.loads(payload)
    except ValueError:
        check(False, "the late answer is not one JSON document: %r" % payload[-300:])


def test_sandbox_removed_mid_run():
    a = setup()

    def remove():
        for cid in containers_with_label("codeward.instance=" + a.instance):
            docker_api("DELETE", "/v1.41/containers/%s?force=1&v=1" % cid)

    st, ctype, framed, payload = late_run("sleep 6; echo never", remove)
    check(st == 200 and ctype == "application/json" and framed, "%s %s %s" % (st, ctype, framed))
    j = parse(payload)
    check("never" not in j.get("stdout", ""), "the run went on: %r" % j)
    check("[codeward]" in j.get("stderr", ""), "no error in stderr: %r" % j)
    # the appliance serves the next run
    check(a.exec("bash", "echo next")["stdout"] == "next\n", "next run")


def test_sockproxy_gone_mid_run():
    # last: the appliance has no sockproxy afterwards
    a = setup()
    st, ctype, framed, payload = late_run("sleep 6; echo never",
                                          lambda: a.procs["sockproxy"].kill())
    check(st == 200 and ctype == "application/json" and framed, "%s %s %s" % (st, ctype, framed))
    j = parse(payload)
    check(isinstance(j.get("stderr"), str) and "[codeward]" in j["stderr"], "stderr %r" % j)
    check(j.get("stdout") == "" and j.get("files") == [], "%r" % j)
    check(isinstance(j.get("error"), str) and isinstance(j.get("message"), str), "%r" % j)
    print("late answer: %r" % j)


if __name__ == "__main__":
    APP.append(Appliance(name="late", overrides=[("concurrency", "pool", "0")]).start())
    try:
        main(globals())
    finally:
        # sockproxy was killed: what it could not remove goes here
        APP[0].stop(check_leftovers=False)
        for left in APP[0].leftovers():
            docker_api("DELETE", "/v1.41/containers/%s?force=1&v=1" % left)
