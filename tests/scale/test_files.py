"""Three nodes on one S3 bucket behind HAProxy (issue 19), on the real
engine: LibreChat's own client (the contract suite's flow, old generation:
X-API-Key) passes through HAProxy, which spreads its calls over the nodes;
an upload on node1 (its own port) downloads byte-exact through node2 and
node3, and the outputs of a run on node2 from node3 and node1. Without
Docker, s3rver, haproxy or the client this fails."""
import os
import secrets
import sys

from cwhttp import content_type, multipart
from cwtest import check, main
from scalelib import LIGHT, Shared, sha

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "contract"))
from test_librechat import run_flow  # noqa: E402 (the client, as the contract suite runs it)

USER = "6650f1c2a1b2c3d4e5f60718"
setup = Shared(3, LIGHT)


def upload(app, name, data):
    st, j = app.request("POST", "/v1/upload",
                        multipart([("kind", "user"), ("id", USER), ("file", name, data, "x/y")]),
                        headers={"Content-Type": content_type(), "User-Id": USER})
    check(st == 200, "upload on %s: %s %r" % (app.port, st, j))
    return j["storage_session_id"], j["files"][0]["fileId"]


def download(app, sid, fid):
    st, body, _ = app.request("GET", "/v1/download/%s/%s" % (sid, fid), raw=True,
                              headers={"User-Id": USER})
    check(st == 200, "download %s/%s on %d: %s %r" % (sid, fid, app.port, st, body[:200]))
    return body


def test_librechat_client_through_haproxy():
    c = setup()
    run_flow(c.front, "old", c.key)
    used = {srv for srv, _, _ in c.routed()}
    check(len(used) >= 2, "the client's calls all went to %r" % used)


def test_upload_on_one_node_downloads_from_the_others():
    c = setup()
    n1, n2, n3 = c.nodes
    data = secrets.token_bytes(300 * 1024 + 7)
    sid, fid = upload(n1, "blob.bin", data)
    for n in (n2, n3):
        got = download(n, sid, fid)
        check(len(got) == len(data) and sha(got) == sha(data),
              "%s: %d bytes, sha %s" % (n.node, len(got), sha(got)))


def test_outputs_of_one_node_download_from_another():
    c = setup()
    n1, n2, n3 = c.nodes
    j = n2.exec("py", "open('/mnt/data/out.txt', 'w').write('x' * 100000 + 'end')\n"
                "print('wrote')", user_id=USER)
    refs = [f for f in j["files"] if f["name"] == "out.txt"]
    check(len(refs) == 1, "files %r" % j["files"])
    for n in (n3, n1):
        got = download(n, refs[0]["storage_session_id"], refs[0]["id"])
        check(got == b"x" * 100000 + b"end", "%s: %d bytes" % (n.node, len(got)))


if __name__ == "__main__":
    main(globals(), setup)
