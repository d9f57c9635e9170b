"""HAProxy's routing as scripts/nodes.sh renders it (scripts/haproxy.cfg.in),
in front of three stand-in nodes that answer their name: no Docker. A
request with no key goes round robin; a stateful call's hint (else its
user), a programmatic start's request id and its cancel's, a workspace
id, each always reach one node; a continuation reaches the node its token
names, whatever the key; a node whose port is closed costs nothing to a
request not yet sent (tried elsewhere); a POST that node had taken is
answered 502 at once, not sent again. Also nodes.sh's policy times in
seconds. Without /usr/sbin/haproxy this fails."""
import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time

from cwtest import check, free_port, main
from scalelib import HAPROXY, Front, nodes_sh

# a stand-in node: answers GET and POST with its name; POST /slow waits
# 3 s first (a run in flight)
NODE = r'''
import http.server, sys, time
name = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self): self.reply()
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/slow":
            time.sleep(3)
        self.reply()
    def reply(self):
        b = (self.headers.get("X-Forwarded-For", "-") if self.path == "/xff" else name).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer.handle_error = lambda *a: None
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


class Stand:
    def __init__(self):
        check(os.path.exists(HAPROXY), "no %s (./codeward up installs Debian's haproxy)" % HAPROXY)
        self.dir = tempfile.mkdtemp(prefix="cw-routing-")
        self.ports = {"node%d" % i: free_port() for i in (1, 2, 3)}
        self.nodes = {n: subprocess.Popen([sys.executable, "-c", NODE, str(p), n],
                                          stderr=subprocess.DEVNULL)
                      for n, p in self.ports.items()}
        self.port = free_port()
        cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(nodes_sh("haproxy_config", "127.0.0.1:%d" % self.port, "60s", "64", "",
                             *["%s=127.0.0.1:%d" % kv for kv in self.ports.items()]))
        self.log = open(os.path.join(self.dir, "haproxy.log"), "wb+")
        self.hap = subprocess.Popen([HAPROXY, "-db", "-f", cfg], stdout=self.log,
                                    stderr=subprocess.STDOUT)
        self.front = Front(self.port, "unused")
        deadline = time.time() + 15
        while len({self.post("/v1/exec", {})[1] for _ in range(6)} - {None}) < 3:
            check(time.time() < deadline, "the stand did not come up")
            time.sleep(0.3)

    def post(self, path, body, headers=None):
        try:
            st, name = self.front.request("POST", path, json.dumps(body).encode(),
                                          headers=dict({"Content-Type": "application/json"},
                                                       **(headers or {})), auth=False)
        except OSError:
            return None, None
        return st, name.decode() if isinstance(name, bytes) and st == 200 else name

    def stop(self):
        for p in list(self.nodes.values()) + [self.hap]:
            if p.poll() is None:
                p.kill()
                p.wait()


class Once:
    """the module's one stand, made at its first use; main() stops it"""
    stand = None

    def __call__(self):
        if self.stand is None:
            self.stand = Stand()
        return self.stand

    def stop(self, check_leftovers=False):
        if self.stand is not None:
            self.stand.stop()


setup = Once()


def same_node(s, n, path, body, headers=None):
    """the node all n calls reached (one)"""
    got = {s.post(path, body, headers)[1] for _ in range(n)}
    check(len(got) == 1 and None not in got, "%s %r %r went to %r" % (path, body, headers, got))
    return got.pop()


def token(node):
    eid = "%s-%s" % (node, secrets.token_hex(16))
    return base64.b64encode(json.dumps({"execution_id": eid, "ts": 1}).encode()).decode()


def test_round_robin_without_a_key():
    s = setup()
    got = [s.post("/v1/exec", {"lang": "py", "code": "print(1)"})[1] for _ in range(6)]
    check(set(got) == set(s.ports), "round robin over all three: %r" % got)
    # an empty hint is no key (frontd: no session either)
    got = [s.post("/v1/exec", {"code": "x", "runtime_session_hint": ""})[1] for _ in range(6)]
    check(set(got) == set(s.ports), "an empty hint, round robin: %r" % got)


def test_keys_keep_their_node():
    s = setup()
    spread = set()
    for k in range(8):
        hint = "conv-%d" % k
        spread.add(same_node(s, 4, "/v1/exec", {"code": "x" * 40000, "runtime_session_hint": hint}))
        # the request id of a programmatic start, then its cancel's body
        rid = "req-%d" % k
        a = same_node(s, 3, "/v1/exec/programmatic", {"code": "x", "tools": []},
                      {"X-LibreChat-Code-Request-ID": rid})
        b = same_node(s, 3, "/v1/exec/programmatic/cancel", {"request_id": rid})
        check(a == b, "%s: started on %s, cancelled on %s" % (rid, a, b))
        same_node(s, 3, "/v1/exec", {"code": "x", "user_id": "user-%d" % k},
                  {"X-CodeAPI-Expected-Profile": "stateful"})
        same_node(s, 3, "/v1/exec", {"code": "x"}, {"X-LibreChat-Code-Workspace-ID": "ws-%d" % k})
    check(len(spread) >= 2, "eight hints all on %r" % spread)


def test_continuation_reaches_the_node_its_token_names():
    s = setup()
    for node in sorted(s.ports) * 3:
        # a request id that hashes elsewhere changes nothing: the token wins
        st, got = s.post("/v1/exec/programmatic",
                         {"continuation_token": token(node),
                          "tool_results": [{"call_id": "c", "result": "r" * 30000}]},
                         {"X-LibreChat-Code-Request-ID": secrets.token_hex(8)})
        check(st == 200 and got == node, "a token of %s reached %s" % (node, got))


def test_z_dead_node():
    s = setup()
    # a workspace id that lands on node3, for a run in flight there
    ws = next(w for w in ("ws-dead-%d" % i for i in range(100))
              if s.post("/v1/exec", {}, {"X-LibreChat-Code-Workspace-ID": w})[1] == "node3")
    res = {}
    th = threading.Thread(target=lambda: res.update(
        r=s.post("/slow", {}, {"X-LibreChat-Code-Workspace-ID": ws})))
    th.start()
    time.sleep(1)
    t0 = time.monotonic()
    s.nodes["node3"].kill()
    s.nodes["node3"].wait()
    th.join(10)
    st = res["r"][0]
    check(st == 502 and time.monotonic() - t0 < 2,
          "the run on the dead node: %s after %.1f s" % (st, time.monotonic() - t0))
    check(isinstance(res["r"][1], dict) and res["r"][1].get("error") == "node_failed",
          "the balancer's error, JSON: %r" % (res["r"][1],))
    # at once, before the health checks see it: every request still
    # answered, the dead node's workspace too
    got = [s.post("/v1/exec", {"code": "x"}) for _ in range(9)]
    got.append(s.post("/v1/exec", {}, {"X-LibreChat-Code-Workspace-ID": ws}))
    check(all(st == 200 for st, _ in got) and {n for _, n in got} == {"node1", "node2"},
          "after the kill: %r" % got)
    # and the run was not sent again: node3 had it, no one else
    slow = [line for line in open(s.log.name).read().splitlines() if '"POST /slow' in line]
    check(len(slow) == 1 and "nodes/node3 " in slow[0], "the run: %r" % slow)


def test_forwarded_for_is_the_balancers_own():
    s = setup()
    st, got = s.post("/xff", {}, {"X-Forwarded-For": "203.0.113.9"})
    check(st == 200 and got == "127.0.0.1", "X-Forwarded-For: %s %r" % (st, got))


def test_policy_times_in_seconds():
    for t, want in (("2m", "120"), ("30s", "30"), ("1500ms", "2"), ("1h", "3600")):
        got = nodes_sh("seconds", t).strip()
        check(got == want, "seconds %s: %s" % (t, got))


if __name__ == "__main__":
    main(globals(), setup)
