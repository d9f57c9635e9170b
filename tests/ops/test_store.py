"""frontd's file store through a real appliance (real engine; fails without
one): tiny uploads in LibreChat's chunked framing, byte quotas, the sweep's
grace, and a kill mid-upload.

- uploads of 1 to 5 bytes, each form-data piece its own HTTP chunk (how
  LibreChat's form-data stream arrives): each stored once, byte-exact;
- a user at its user-quota gets 413 JSON naming the limit, another user
  still uploads; a run writing past the quota still answers 200 with its
  stdout, the outputs that fit listed, the others not stored and named in
  stderr; past store-quota an upload is 507 JSON;
- an object whose .meta a hand removed (the old race) survives the sweep a
  restart runs while it is young;
- privd and frontd killed (SIGKILL) mid-upload: after a restart no
  temporary file and no object without its record is left.
"""
import json
import os
import signal
import time

from cwhttp import RawConn, content_type, multipart
from cwtest import Appliance, check, main
from opslib import wait_for
from test_lifecycle import start_privd

K = 1024
QUOTAS = [("files", "user-quota", "64K"), ("files", "store-quota", "200K"),
          ("files", "free-space-floor", "0"), ("concurrency", "pool", "0")]


def pieces(parts):
    """multipart(parts) cut where form-data writes: each part's head, its
    value, its CRLF, then the closing line, each its own piece."""
    body = multipart(parts)
    sep = body[:body.index(b"\r\n") + 2]
    out, rest = [], body
    while rest.startswith(sep):
        head_end = rest.index(b"\r\n\r\n") + 4
        nxt = rest.index(b"\r\n" + sep.rstrip(b"\r\n"), head_end)
        out += [rest[:head_end], rest[head_end:nxt], b"\r\n"]
        rest = rest[nxt + 2:]
    return [p for p in out if p] + [rest]


def chunked_upload(a, parts, user, cut=None):
    """An upload with each piece its own HTTP chunk; the answer, or the open
    connection after 'cut' pieces."""
    rc = RawConn(a.port, timeout=60)
    rc.s.sendall(("POST /v1/upload HTTP/1.1\r\nHost: x\r\nX-API-Key: %s\r\nUser-Id: %s\r\n"
                  "Content-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n" %
                  (a.key, user, content_type())).encode())
    ps = pieces(parts)
    for p in ps[:cut]:
        rc.s.sendall(b"%x\r\n%s\r\n" % (len(p), p))
        time.sleep(0.05)        # each its own read on frontd's side
    if cut is not None:
        return rc
    rc.s.sendall(b"0\r\n\r\n")
    try:
        return rc.read_answer()
    finally:
        rc.close()


def upload(a, user, name, data):
    st, j = a.request("POST", "/v1/upload", multipart([("kind", "user"), ("id", user),
                                                        ("file", name, data, "x/y")]),
                      headers={"Content-Type": content_type(), "User-Id": user})
    return st, j


def frontd_pid(a):
    """privd's child that runs codeward-frontd (privd has other children)"""
    ppid = a.procs["privd"].pid
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % p) as f:
                comm, rest = f.read().split(" (", 1)[1].rsplit(")", 1)
            if int(rest.split()[1]) == ppid and comm == "codeward-frontd":
                return int(p)
        except (OSError, ValueError, IndexError):
            continue
    raise AssertionError("no frontd under privd %d" % ppid)


def store_entries(a):
    """{session: [names]} on disk"""
    out = {}
    if os.path.isdir(a.store):
        for sid in os.listdir(a.store):
            out[sid] = sorted(os.listdir(os.path.join(a.store, sid)))
    return out


def test_tiny_uploads_in_librechat_framing():
    with Appliance(name="store-tiny") as a:
        for n in range(1, 6):
            data = bytes(range(97, 97 + n))
            r = chunked_upload(a, [("kind", "user"), ("id", "tiny"),
                                   ("file", "t%d.txt" % n, data, "text/plain")], "tiny")
            check(r.status == 200, "%d bytes: %r" % (n, r))
            j = r.json()
            check(len(j["files"]) == 1, "%d bytes stored as %r" % (n, j["files"]))
            sid, fid = j["session_id"], j["files"][0]["fileId"]
            st, body, _ = a.request("GET", "/v1/download/%s/%s" % (sid, fid),
                                    headers={"User-Id": "tiny"}, raw=True)
            check(st == 200 and body == data, "%d bytes came back as %r" % (n, body))
            check(len([f for f in store_entries(a)[sid] if not f.endswith(".meta")]) == 1,
                  "%d bytes: %r on disk" % (n, store_entries(a)[sid]))


def test_quotas():
    with Appliance(QUOTAS, name="store-quota") as a:
        st, j = upload(a, "alice", "a.bin", b"a" * (40 * K))
        check(st == 200, "alice's first upload: %s %r" % (st, j))
        st, j = upload(a, "alice", "b.bin", b"b" * (30 * K))
        check(st == 413 and j["error"] == "quota_exceeded" and "user-quota 64K" in j["message"],
              "alice past her quota: %s %r" % (st, j))
        st, j = upload(a, "bob", "c.bin", b"c" * (40 * K))
        check(st == 200, "bob beside alice: %s %r" % (st, j))

        # a run past the quota: answered, stdout kept, what fits stored
        code = ("open('/mnt/data/s.bin','wb').write(b's'*20480)\n"
                "open('/mnt/data/t.bin','wb').write(b't'*30720)\nprint('still here')\n")
        j = a.exec("py", code, user_id="alice")
        check(j["stdout"] == "still here\n", "stdout of the run %r" % j)
        names = [f["name"] for f in j["files"]]
        check(names == ["s.bin"], "outputs stored %r (stderr %r)" % (names, j["stderr"]))
        check("1 output files were not stored (user-quota 64K): 't.bin'" in j["stderr"],
              "stderr %r" % j["stderr"])
        st, body, _ = a.request("GET", "/v1/download/%s/%s" % (j["session_id"], j["files"][0]["id"]),
                                headers={"User-Id": "alice"}, raw=True)
        check(st == 200 and body == b"s" * 20480, "the stored output: %s" % st)

        # 60K + 40K stored; carol's 64K fits, then the store is full
        st, jc = upload(a, "carol", "d.bin", b"d" * (64 * K))
        check(st == 200, "carol: %s %r" % (st, jc))
        st, j = upload(a, "dave", "e.bin", b"e" * (40 * K))
        check(st == 507 and j["error"] == "insufficient_storage" and
              "store-quota 200K" in j["message"], "past the store quota: %s %r" % (st, j))
        # a deleted file gives its bytes back
        st, _ = a.request("DELETE", "/v1/files/%s/%s" % (jc["session_id"], jc["files"][0]["fileId"]),
                          headers={"User-Id": "carol"})
        check(st == 200, "delete: %s" % st)
        st, j = upload(a, "dave", "e.bin", b"e" * (40 * K))
        check(st == 200, "dave after the delete: %s %r" % (st, j))


def test_young_object_without_record_survives_the_sweep():
    a = Appliance([("concurrency", "pool", "0")], name="store-grace").start()
    try:
        st, j = upload(a, "u", "kept.txt", b"kept")
        check(st == 200, "upload %s %r" % (st, j))
        sid, fid = j["session_id"], j["files"][0]["fileId"]
        st, j2 = upload(a, "u", "bare.txt", b"bare")
        sid2, fid2 = j2["session_id"], j2["files"][0]["fileId"]
        os.unlink(os.path.join(a.store, sid2, fid2 + ".meta"))
        # a restart's sweep (every 10 minutes, and at each start)
        a.stop()
        a.start()
        check(os.path.exists(os.path.join(a.store, sid2, fid2)),
              "a young object without its record was swept: %r" % store_entries(a))
        st, body, _ = a.request("GET", "/v1/download/%s/%s" % (sid, fid),
                                headers={"User-Id": "u"}, raw=True)
        check(st == 200 and body == b"kept", "the other object after the sweep: %s" % st)
    finally:
        a.stop()


def test_kill_mid_upload_leaves_nothing_half_done():
    a = Appliance([("concurrency", "pool", "0")], name="store-kill").start()
    try:
        st, j = upload(a, "u", "before.txt", b"before")
        check(st == 200, "upload %s %r" % (st, j))
        rc = chunked_upload(a, [("kind", "user"), ("id", "u"),
                                ("file", "cut.bin", b"x" * (300 * K), "x/y")], "u", cut=8)

        def temps():
            return [f for fs in store_entries(a).values() for f in fs if f.startswith(".tmp.")]
        wait_for("the upload's temporary file", temps, 10)
        os.kill(frontd_pid(a), signal.SIGKILL)
        a.procs["privd"].send_signal(signal.SIGKILL)
        a.procs["privd"].wait()
        rc.close()
        check(temps(), "the temporary file is there before the restart")
        start_privd(a, a.port)
        left = store_entries(a)
        check(not [f for fs in left.values() for f in fs if f.startswith(".")],
              "temporary files after start-up: %r" % left)
        for sid, fs in left.items():
            for f in fs:
                if not f.endswith(".meta"):
                    check(f + ".meta" in fs, "an object without its record: %s/%s" % (sid, f))
        check(sum(len(fs) for fs in left.values()) == 2, "the store after start-up: %r" % left)
        st, body, _ = a.request("GET", "/v1/download/%s/%s" % (j["session_id"], j["files"][0]["fileId"]),
                                headers={"User-Id": "u"}, raw=True)
        check(st == 200 and body == b"before", "the earlier file: %s" % st)
    finally:
        a.stop()


if __name__ == "__main__":
    main(globals())
