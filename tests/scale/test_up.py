"""CODEWARD_NODES=3 ./codeward up, the real script, with every path of it
moved into a temporary directory (CODEWARD_ETC, _STATE, _RUN, _LOG, _CACHE,
_POLICY), a free port and an instance of its own, on the real engine:
s3rver, three nodes and HAProxy come up; `status` names them; a file
uploaded through one node's own port downloads byte-exact through another's
and through HAProxy, and a run through HAProxy reads it; `down` (without
CODEWARD_NODES: the count the `up` left) stops HAProxy, every node and
s3rver, and no sandbox of the three instances is left."""
import http.client
import json
import os
import secrets
import shutil
import subprocess
import tempfile

from cwhttp import Client
from cwtest import (SOURCE, check, containers_with_label, docker_api, free_port, main,
                    port_open, require_docker)
from cwtest import sandbox_image_id

CODEWARD = os.path.join(SOURCE, "codeward")
USER = "6650f1c2a1b2c3d4e5f60718"


def test_three_nodes_up_and_down():
    require_docker()
    d = tempfile.mkdtemp(prefix="cw-nodes-up-")
    os.chmod(d, 0o755)
    instance = "test-nodesup-" + secrets.token_hex(4)
    # the port and the three after it (the nodes), and s3rver's after them
    port = free_port()
    env = dict(os.environ, CODEWARD_ETC=os.path.join(d, "etc"),
               CODEWARD_STATE=os.path.join(d, "state"), CODEWARD_RUN=os.path.join(d, "run"),
               CODEWARD_LOG=os.path.join(d, "log"), CODEWARD_CACHE=os.path.join(d, "cache"),
               CODEWARD_POLICY=os.path.join(d, "policies", "codeward.policy"),
               CODEWARD_PORT=str(port), CODEWARD_INSTANCE=instance,
               CODEWARD_SANDBOX_IMAGE=sandbox_image_id())
    env.pop("CODEWARD_API_KEY", None)
    env.pop("CODEWARD_NODES", None)
    labels = ["codeward.instance=%s-node%d" % (instance, i) for i in (1, 2, 3)]

    def run(*args, nodes=None, ok=True, timeout=900):
        e = dict(env, CODEWARD_NODES=nodes) if nodes else env
        r = subprocess.run([CODEWARD] + list(args), env=e, capture_output=True, text=True,
                           timeout=timeout)
        if ok:
            logs = ""
            for root, _, files in os.walk(os.path.join(d, "log")):
                for f in files:
                    logs += "--- %s ---\n%s\n" % (f, open(os.path.join(root, f),
                                                          errors="replace").read()[-2000:])
            check(r.returncode == 0, "./codeward %s: exit %d\n%s%s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr, logs))
        return r

    try:
        run("up", nodes="3")
        st = run("status").stdout
        for what in ("node1", "node2", "node3", "haproxy: running", "s3rver: running"):
            check(what in st, "status lacks %r:\n%s" % (what, st))
        key = open(os.path.join(d, "etc", "api-key")).read().strip()
        data = os.urandom(200_000)
        c1 = Client(port + 1, {"X-API-Key": key})
        r = c1.upload([("kind", "user"), ("id", USER),
                       ("file", "d.bin", data, "application/octet-stream")],
                      headers={"User-Id": USER})
        check(r.status == 200, "upload on node1: %r" % r)
        j = r.json()
        ref = {"id": j["files"][0]["fileId"], "storage_session_id": j["session_id"],
               "name": "d.bin"}
        path = "/v1/download/%s/%s" % (j["session_id"], ref["id"])
        for p in (port + 3, port):
            r = Client(p, {"X-API-Key": key}).request("GET", path, headers={"User-Id": USER})
            check(r.status == 200 and r.body == data, "download on port %d: %r" % (p, r))
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        c.request("POST", "/v1/exec", body=json.dumps({
            "lang": "bash", "code": "wc -c < /mnt/data/d.bin", "files": [ref],
            "user_id": USER}), headers={"X-API-Key": key, "Content-Type": "application/json"})
        resp = c.getresponse()
        body = json.loads(resp.read())
        c.close()
        check(resp.status == 200 and body["stdout"].strip() == "200000",
              "a run through HAProxy: %d %r" % (resp.status, body))
        check(any(containers_with_label(lb) for lb in labels), "no node has a worker")
        run("down")
        for p in (port, port + 1, port + 2, port + 3, port + 4):
            check(not port_open(p), "port %d still answers after down" % p)
        for lb in labels:
            check(not containers_with_label(lb), "%s: sandboxes left after down" % lb)
    finally:
        run("down", ok=False, timeout=300)
        for lb in labels:
            for cid in containers_with_label(lb):
                docker_api("DELETE", "/v1.41/containers/%s?force=1&v=1" % cid)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main(globals())
