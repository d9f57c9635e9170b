"""Long runs on a reused keep-alive connection.

Node's global HTTP agent (LibreChat's client) tears down a reused socket that
stays silent for 5 s. A run with no result within 3 s is answered 200 at once
and its JSON is preceded by whitespace until the result is ready, so a client
whose reads time out after 5 s of silence still gets it. Quick answers keep
their own status codes."""
import json
import socket

from cwtest import Appliance, check, main

app = None


def setup():
    global app
    if app is None:
        app = Appliance(name="keepalive", overrides=[("concurrency", "pool", "0")]).start()
    return app


def test_long_run_survives_a_5s_read_timeout_on_a_reused_connection():
    a = setup()
    c = a.conn(timeout=5)
    st, j = a.request("POST", "/v1/exec", {"lang": "bash", "code": "echo one"}, conn=c)
    check(st == 200 and j["stdout"] == "one\n", "first: %s %r" % (st, j))
    # the same connection, a run of 8 s: no read may wait 5 s
    st, payload, resp = a.request("POST", "/v1/exec", {"lang": "bash", "code": "sleep 8; echo two"},
                                  conn=c, raw=True)
    check(st == 200, "long run: %s" % st)
    check(payload[:1] == b" ", "no keep-alive whitespace before the JSON: %r" % payload[:20])
    j = json.loads(payload)
    check(j["stdout"] == "two\n", "long run answer %r" % j)
    # and the connection still carries requests
    st, j = a.request("POST", "/v1/exec", {"lang": "bash", "code": "echo three"}, conn=c)
    check(st == 200 and j["stdout"] == "three\n", "after: %s %r" % (st, j))
    c.close()


def test_quick_refusals_keep_their_status():
    a = setup()
    st, j = a.request("POST", "/v1/exec", {"lang": "cobol", "code": "x"})
    check(st == 400 and j["error"] == "unsupported_language", "%s %r" % (st, j))
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "print(1)",
                                           "files": [{"id": "A" * 21, "session_id": "B" * 21, "name": "x"}]})
    check(st == 404, "missing file: %s %r" % (st, j))


def test_zz_stop():
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
