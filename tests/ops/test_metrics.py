"""GET /metrics and the audit trail of a whole appliance on the real engine:
the answer parses as Prometheus text (Prometheus' own parser), every family
has the type it says, the counters move with runs exactly, the auth failures
are counted, each execution has one audit line from privd (and one from
frontd with the files it gave back), a refused execution too, and each
request sockproxy refuses is its own audit line and moves its class's
counter. The policy may move /metrics to a listener of its own."""
import http.client
import json
import threading
import time

from cwhttp import Client
from cwtest import Appliance, check, free_port
from opslib import (audit_lines, daemon_log, main_then_stop, policy_id, scrape,
                    sockproxy_raw, wait_for)

USER = "6650f1c2a1b2c3d4e5f60718"
app = None


def setup():
    global app
    if app is None:
        # no warm pool: every sandbox counted here is one a run asked for
        app = Appliance([("concurrency", "pool", "0"), ("concurrency", "total", "3"),
                         ("concurrency", "per-user", "2"), ("time", "default", "10s"),
                         ("time", "max", "10s"), ("concurrency", "queue", "0")],
                        name="metrics").start()
    return app


def metrics():
    return scrape(setup().port, setup().key)


def test_families_and_types():
    s = metrics()
    want = {
        "codeward_policy_info": "gauge",
        "codeward_privd_up": "gauge",
        "codeward_executions": "counter",
        "codeward_execution_duration_seconds": "histogram",
        "codeward_queue_wait_seconds": "histogram",
        "codeward_executions_running": "gauge",
        "codeward_sandboxes_active": "gauge",
        "codeward_pool_ready": "gauge",
        "codeward_pool_capacity": "gauge",
        "codeward_sandboxes_created": "counter",
        "codeward_sandboxes_removed": "counter",
        "codeward_sandboxes_swept": "counter",
        "codeward_sandbox_resyncs": "counter",
        "codeward_sandbox_bytes_in": "counter",
        "codeward_sandbox_bytes_out": "counter",
        "codeward_sockproxy_up": "gauge",
        "codeward_sockproxy_refusals": "counter",
        "codeward_http_responses": "counter",
        "codeward_http_received_bytes": "counter",
        "codeward_http_sent_bytes": "counter",
        "codeward_auth_failures": "counter",
    }
    for name, typ in want.items():
        check(name in s.families, "no family %s in /metrics" % name)
        check(s.families[name].type == typ, "%s is a %s" % (name, s.families[name].type))
    check(s.get("codeward_privd_up") == 1, "privd_up")
    # the policy in force, named by the sha256 of the file's bytes
    check(s.get("codeward_policy_info", sha256=policy_id(setup().policy_path)[7:]) == 1,
          "policy_info %r" % [k for k in s.samples if k[0] == "codeward_policy_info"])
    check(len([k for k in s.samples if k[0] == "codeward_policy_info"]) == 1, "one policy")
    check(s.get("codeward_sockproxy_up") == 1, "sockproxy_up")
    for lang in ("py", "js", "ts", "c", "cpp", "java", "php", "rs", "go", "d", "f90", "r", "bash"):
        for outcome in ("ok", "error", "time", "memory", "output", "busy", "refused",
                        "too_large", "unavailable"):
            s.get("codeward_executions_total", lang=lang, outcome=outcome)
    for cls in ("request", "policy", "not_owned", "state", "too_large", "timeout",
                "daemon", "busy"):
        s.get("codeward_sockproxy_refusals_total", **{"class": cls})
    # under jail the idle workers a run leaves stay, up to 'total' (3)
    check(s.get("codeward_pool_capacity") == (3 if setup().isolation == "jail" else 0),
          "pool capacity with pool 0: %r" % s.get("codeward_pool_capacity"))


def idle():
    """no run; no sandbox, or under jail only idle workers"""
    def quiet(s):
        left = s.get("codeward_pool_ready") if setup().isolation == "jail" else 0
        return (s.get("codeward_sandboxes_active") == left and
                s.get("codeward_executions_running") == 0)
    wait_for("no sandbox at work", lambda: quiet(metrics()), 30)


def test_counters_move_with_runs():
    a = setup()
    idle()
    before = metrics()
    j = a.exec("py", "print(6*7)")
    check(j["stdout"] == "42\n", "py %r" % j)
    j = a.exec("bash", "echo out; exit 3")
    check(j["run"]["code"] == 3, "bash exit %r" % j)
    j = a.exec("bash", "sleep 8", timeout=1000)
    check(j["run"].get("killed") == "time", "time kill %r" % j)
    after = metrics()

    def delta(name, **labels):
        return after.get(name, **labels) - before.get(name, **labels)

    check(delta("codeward_executions_total", lang="py", outcome="ok") == 1, "py ok")
    check(delta("codeward_executions_total", lang="bash", outcome="error") == 1, "bash error")
    check(delta("codeward_executions_total", lang="bash", outcome="time") == 1, "bash time")
    check(delta("codeward_executions_total", lang="py", outcome="error") == 0, "py error")
    check(delta("codeward_execution_duration_seconds_count") == 3, "durations counted")
    check(delta("codeward_execution_duration_seconds_sum") >= 1.0,
          "duration sum grew by %r" % delta("codeward_execution_duration_seconds_sum"))
    # the timed-out run took at least its second: not in the 0.5 s bucket
    check(delta("codeward_execution_duration_seconds_bucket", le="+Inf") -
          delta("codeward_execution_duration_seconds_bucket", le="0.5") >= 1, "slow bucket")
    check(delta("codeward_queue_wait_seconds_count") == 3, "waits counted")
    jail = a.isolation == "jail"
    # a container per run, or under jail workers serving several
    check(delta("codeward_sandboxes_created_total") == 3 or
          (jail and 0 <= delta("codeward_sandboxes_created_total") <= 3),
          "created %r" % delta("codeward_sandboxes_created_total"))
    check(delta("codeward_sandbox_bytes_in_total") >= len("print(6*7)") + len("sleep 8"),
          "bytes in")
    check(delta("codeward_sandbox_bytes_out_total") > 0, "bytes out")
    check(delta("codeward_http_responses_total", code="200") >= 4, "200s counted")
    check(delta("codeward_http_received_bytes_total") > 60, "request bytes")
    check(delta("codeward_http_sent_bytes_total") > 100, "response bytes")
    # the sandboxes go away after the answers (under jail the workers
    # stay idle): the gauges come back down, created and removed agree
    idle()
    s = metrics()
    removed = s.get("codeward_sandboxes_removed_total") - before.get("codeward_sandboxes_removed_total")
    created = s.get("codeward_sandboxes_created_total") - before.get("codeward_sandboxes_created_total")
    active = s.get("codeward_sandboxes_active") - before.get("codeward_sandboxes_active")
    check(removed == 3 if not jail else created - removed == active,
          "created %r, removed %r, active %+d" % (created, removed, active))
    check(s.get("codeward_executions_running") == 0, "running")


def test_auth_required_and_failures_counted():
    a = setup()
    before = metrics()
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    c.request("GET", "/metrics")
    r = c.getresponse()
    r.read()
    check(r.status == 401, "/metrics without a key answered %d" % r.status)
    c.request("GET", "/metrics", headers={"X-API-Key": "not-the-key"})
    r = c.getresponse()
    r.read()
    check(r.status == 401, "/metrics with a wrong key answered %d" % r.status)
    c.request("POST", "/v1/exec", body=b"{}", headers={"Authorization": "Bearer wrong"})
    r = c.getresponse()
    r.read()
    c.close()
    after = metrics()
    check(after.get("codeward_auth_failures_total", reason="missing") -
          before.get("codeward_auth_failures_total", reason="missing") == 1, "missing")
    check(after.get("codeward_auth_failures_total", reason="invalid") -
          before.get("codeward_auth_failures_total", reason="invalid") == 2, "invalid")
    check(after.get("codeward_http_responses_total", code="401") -
          before.get("codeward_http_responses_total", code="401") == 3, "401s")


def upload(name, data):
    parts = [("kind", "user"), ("id", USER), ("file", name, data, "text/plain")]
    r = Client(setup().port, {"X-API-Key": setup().key}).upload(parts, headers={"User-Id": USER})
    check(r.status == 200, "upload %r" % r)
    j = r.json()
    return {"id": j["files"][0]["fileId"], "storage_session_id": j["session_id"],
            "name": name, "kind": "user", "resource_id": USER}


def test_audit_line_per_execution():
    a = setup()
    f = upload("in.txt", b"twelve bytes")
    j = a.exec("py", "d=open('/mnt/data/in.txt').read()\nopen('/mnt/data/out.txt','w').write(d*2)\n"
               "print(len(d))", files=[f], user_id=USER)
    check(j["stdout"] == "12\n", "run %r" % j)
    check([x["name"] for x in j["files"]] == ["out.txt"], "files %r" % j["files"])
    log = daemon_log(a, "privd")
    files_lines = [x for x in audit_lines(log, "exec-files") if x["session"] == j["session_id"]]
    check(len(files_lines) == 1, "exec-files lines for the session: %r" % files_lines)
    fl = files_lines[0]
    check(fl["files_out"] == 1 and fl["files_deleted"] == 0 and fl["user"] == USER, "%r" % fl)
    check(fl["stdout_bytes"] == 3, "stdout bytes %r" % fl)
    execs = [x for x in audit_lines(log, "exec") if x["run"] == fl["run"]]
    check(len(execs) == 1, "one exec line for run %d: %r" % (fl["run"], execs))
    e = execs[0]
    # both lines name the policy the run was admitted under
    check(e["policy"] == fl["policy"] == policy_id(a.policy_path), "policy %r" % e)
    for k in ("time", "run", "user", "lang", "image", "status", "outcome", "exit", "kill",
              "duration_ms", "wait_ms", "container", "pooled", "code_bytes", "files_in",
              "files_in_bytes", "output_bytes", "archive_bytes", "limits"):
        check(k in e, "exec line has no %s: %r" % (k, e))
    check(e["user"] == USER and e["lang"] == "py", "%r" % e)
    # the image the policy pins (under jail cwtest's worker image)
    with open(a.policy_path) as pf:
        pinned = pf.read()
    check(e["image"].startswith("sha256:") and e["image"] in pinned, "image %r" % e["image"])
    check(e["status"] == "ok" and e["outcome"] == "ok" and e["exit"] == 0 and e["kill"] == "none",
          "%r" % e)
    # pool 0: no pooled sandbox; under jail a worker an earlier run left
    check(len(e["container"]) == 64 and
          (e["pooled"] is False or (a.isolation == "jail" and e["pooled"] is True)), "%r" % e)
    check(e["files_in"] == 1 and e["files_in_bytes"] == 12, "%r" % e)
    check(e["archive_bytes"] > 0 and e["output_bytes"] > 0, "%r" % e)
    lim = e["limits"]
    check(lim["memory"] == 512 << 20 and lim["time_ms"] == 10000 and lim["network"] == "none"
          and lim["runtime"] == "runc" and lim["pids"] == 128, "limits %r" % lim)
    # the timestamp is RFC 3339 UTC with milliseconds
    check(len(e["time"]) == 24 and e["time"].endswith("Z") and e["time"][10] == "T", e["time"])
    # one exec line per run id in the whole log, never two
    runs = [x["run"] for x in audit_lines(log, "exec")]
    check(len(runs) == len(set(runs)), "a run id with two lines: %r" % runs)


def test_refused_execution_is_a_line_and_counted():
    a = setup()
    idle()
    before = metrics()
    nbusy = len([x for x in audit_lines(daemon_log(a, "privd"), "exec") if x["status"] == "busy"])
    slow = []

    def long_run():
        slow.append(a.exec("bash", "sleep 3; echo done", user_id=USER))

    threads = [threading.Thread(target=long_run) for _ in range(2)]
    for t in threads:
        t.start()
    wait_for("two runs in flight", lambda: metrics().get("codeward_executions_running") >= 2, 30)
    # the user's third at once is over per-user 2: refused by privd, 429
    st, j = a.request("POST", "/v1/exec", {"lang": "bash", "code": "echo 3", "user_id": USER})
    for t in threads:
        t.join(60)
    check(st == 429 and j["error"] == "rate_limited", "third run of the user: %s %r" % (st, j))
    check([x["stdout"] for x in slow] == ["done\n", "done\n"], "first runs %r" % slow)
    after = metrics()
    check(after.get("codeward_executions_total", lang="bash", outcome="busy") -
          before.get("codeward_executions_total", lang="bash", outcome="busy") == 1, "busy counted")
    busy = [x for x in audit_lines(daemon_log(a, "privd"), "exec") if x["status"] == "busy"]
    check(len(busy) == nbusy + 1, "busy lines %r" % busy)
    b = busy[-1]
    check(b["container"] is None and b["exit"] is None and b["wait_ms"] is None and
          "too many" in b["reason"] and b["outcome"] == "busy" and b["user"] == USER and
          b["code_bytes"] == len("echo 3"), "%r" % b)


def test_sockproxy_refusal_is_its_own_line():
    a = setup()
    before = metrics()
    nlog = len(audit_lines(daemon_log(a, "sockproxy"), "refusal"))
    # a container this sockproxy did not create: 404, class not_owned
    st = sockproxy_raw(a.sock, b"DELETE /v1.41/containers/" + b"0" * 64 +
                       b" HTTP/1.1\r\nHost: docker\r\n\r\n")
    check(st == 404, "foreign container: %d" % st)
    # bytes that are no request at all: 400, class request
    st = sockproxy_raw(a.sock, b"HELLO\r\n\r\n")
    check(st == 400, "garbage: %d" % st)
    # a create with a privileged host config: 403, class policy
    body = json.dumps({"Image": "x", "HostConfig": {"Privileged": True}}).encode()
    st = sockproxy_raw(a.sock, b"POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
                       b"Content-Type: application/json\r\nContent-Length: " +
                       str(len(body)).encode() + b"\r\n\r\n" + body)
    check(st in (400, 403), "privileged create: %d" % st)
    lines = wait_for("three refusal lines", lambda: (lambda l: l if len(l) >= nlog + 3 else None)(
        audit_lines(daemon_log(a, "sockproxy"), "refusal")), 10)[nlog:]
    check(len(lines) == 3, "refusal lines %r" % lines)
    check([x["status"] for x in lines][:2] == [404, 400], "%r" % lines)
    check([x["class"] for x in lines][:2] == ["not_owned", "request"], "%r" % lines)
    for x in lines:
        check(x["instance"] == a.instance and x["reason"] and "request" in x, "%r" % x)
        check(x["policy"] == policy_id(a.policy_path), "refusal policy %r" % x)
    check(lines[0]["request"].startswith("DELETE /v1.41/containers/000"), "%r" % lines[0])
    after = metrics()

    def delta(cls):
        return after.get("codeward_sockproxy_refusals_total", **{"class": cls}) - \
            before.get("codeward_sockproxy_refusals_total", **{"class": cls})

    check(delta("not_owned") == 1, "not_owned moved by %r" % delta("not_owned"))
    check(delta("request") + delta("policy") == 2, "request+policy moved by %r" %
          (delta("request") + delta("policy")))
    check(delta(lines[2]["class"]) >= 1, "the third's class")


def test_metrics_on_a_listener_of_its_own():
    mport = free_port()
    with Appliance([("concurrency", "pool", "0"), ("metrics", "listen", "127.0.0.1:%d" % mport),
                    ("metrics", "auth", "none")], name="metrics-own") as b:
        # not on the API port any more
        st, _ = b.request("GET", "/metrics")
        check(st == 404, "/metrics on the API port answered %d" % st)
        # on its own, without credentials, and nothing else there
        s = scrape(mport)
        check(s.get("codeward_privd_up") == 1, "privd_up on the metrics listener")
        c = http.client.HTTPConnection("127.0.0.1", mport, timeout=30)
        c.request("GET", "/v1/health")
        r = c.getresponse()
        r.read()
        check(r.status == 404, "/v1/health on the metrics listener answered %d" % r.status)
        c.request("POST", "/metrics", body=b"")
        r = c.getresponse()
        r.read()
        check(r.status == 405, "POST /metrics answered %d" % r.status)
        c.close()
    with Appliance([("concurrency", "pool", "0"), ("metrics", "listen", "none")],
                   name="metrics-off") as b:
        st, _ = b.request("GET", "/metrics")
        check(st == 404, "/metrics switched off answered %d" % st)


if __name__ == "__main__":
    main_then_stop(globals(), lambda: app)
