"""frontd's file routes over real HTTP, without privd or Docker: uploads
(chunked, fields before and after the file, UTF-8 and nested names, the size
cap, batch), downloads (exact bytes and headers), freshness, listings, both
DELETE forms, ids, owners, keep-alive, and a 100 MB upload's memory."""
import datetime
import os
import re
import secrets
import signal
import subprocess
import tempfile
import time

from cwhttp import (FORM_BOUNDARY, Client, RawConn, big_upload, content_type, is_id,
                    multipart, sha256, vm_hwm_kb, wait_for)
from cwtest import BUILD, SOURCE, Fail, check, main, policy_set

USER_A = "6650f1c2a1b2c3d4e5f60718"
USER_B = "6650f1c2a1b2c3d4e5f60799"
FAKE_IMAGE = "sha256:" + "0" * 64


class RoutesServer:
    def __init__(self, overrides=(), name="routes", store=None, key=None):
        self.dir = tempfile.mkdtemp(prefix="cw-%s-" % name)
        self.key = key or "cw_test_" + secrets.token_urlsafe(24)
        keys = os.path.join(self.dir, "keys")
        h = subprocess.run([os.path.join(BUILD, "frontd", "codeward-keytool"), "hash"],
                           input=self.key + "\n", capture_output=True, text=True, check=True)
        with open(keys, "w") as f:
            f.write(h.stdout)
        text = open(os.path.join(SOURCE, "policy", "default.policy")).read()
        text = re.sub(r"@[A-Z_]+@", FAKE_IMAGE, text)
        text = policy_set(text, "auth", "keys", keys)
        for sec, key, val in overrides:
            text = policy_set(text, sec, key, val)
        self.policy = os.path.join(self.dir, "policy")
        with open(self.policy, "w") as f:
            f.write(text)
        self.store = store or os.path.join(self.dir, "store")
        self.portfile = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "server.log"), "wb+")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "tests", "frontd", "cw-routes-server"), "--policy", self.policy,
             "--store", self.store, "--port-file", self.portfile],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(self.portfile) and open(self.portfile).read().endswith("\n")
                 or self.proc.poll() is not None, 10, "the routes server")
        if self.proc.poll() is not None:
            raise Fail("routes server died:\n" + self.logtext())
        self.port = int(open(self.portfile).read())

    def logtext(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def client(self, auth=True, **kw):
        return Client(self.port, {"X-API-Key": self.key} if auth else {}, **kw)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


servers = {}


def server(kind="key"):
    if kind not in servers:
        if kind == "key":
            servers[kind] = RoutesServer(name="routes-key")
        elif kind == "none":
            servers[kind] = RoutesServer([("auth", "mode", "none")], name="routes-none")
        elif kind == "small":
            servers[kind] = RoutesServer([("files", "upload-max", "1M")], name="routes-small")
    return servers[kind]


CSV = b"a,b\n1,2\n"


def upload_csv(c, parts=None, **kw):
    parts = parts or [("kind", "user"), ("id", USER_A), ("file", "data.csv", CSV, "text/csv")]
    r = c.upload(parts, headers={"User-Id": USER_A, "User-Agent": "LibreChat/1.0"}, **kw)
    check(r.status == 200, "upload: %r" % r)
    return r.json()


# --- uploads ---------------------------------------------------------------

def test_upload_current_generation_chunked():
    c = server().client()
    j = upload_csv(c)
    check(j["message"] == "success", "message %r" % j)
    check(is_id(j["session_id"]) and j["session_id"] == j["storage_session_id"], "sessions %r" % j)
    check(len(j["files"]) == 1 and is_id(j["files"][0]["fileId"]), "files %r" % j)
    check(j["files"][0]["filename"] == "data.csv", "filename %r" % j)


def test_upload_not_chunked_and_fields_after_file():
    c = server().client()
    parts = [("file", "late.csv", CSV, "text/csv"), ("kind", "user"), ("id", USER_B)]
    j = upload_csv(c, parts, chunked=False)
    sid, fid = j["session_id"], j["files"][0]["fileId"]
    # the owner came from a field after the file part: user B
    r = c.request("GET", "/v1/sessions/%s/objects/%s?kind=user&id=%s" % (sid, fid, USER_A))
    check(r.status == 404, "another user's file: %r" % r)
    r = c.request("GET", "/v1/sessions/%s/objects/%s?kind=user&id=%s" % (sid, fid, USER_B))
    check(r.status == 200, "owner: %r" % r)


def test_upload_tiny_chunks():
    c = server().client()
    data = os.urandom(70000)
    j = upload_csv(c, [("kind", "user"), ("file", "x.bin", data, "application/octet-stream")],
                   chunk=7)
    r = c.request("GET", "/v1/download/%s/%s" % (j["session_id"], j["files"][0]["fileId"]))
    check(r.status == 200 and r.body == data, "download after 7-byte chunks: %d %d" %
          (r.status, len(r.body)))


def test_upload_old_generation():
    c = server().client()
    parts = [("entity_id", "agent_abc123XYZ_0"), ("file", "data.csv", CSV, "text/csv")]
    j = upload_csv(c, parts)
    check(j["files"][0]["filename"] == "data.csv", "%r" % j)
    # an agent's file is shared: another user sees it
    r = c.request("GET", "/v1/download/%s/%s" % (j["session_id"], j["files"][0]["fileId"]),
                  headers={"User-Id": USER_B})
    check(r.status == 200 and r.body == CSV, "agent file for another user: %r" % r)


def test_upload_names_utf8_and_nested():
    c = server().client()
    for given, stored in [("pptx/scripts/helper.py", "pptx/scripts/helper.py"),
                          ("données/été.csv", "données/été.csv"),
                          ("/abs/x.txt", "abs/x.txt"),
                          ("a//./b.txt", "a/b.txt")]:
        j = upload_csv(c, [("kind", "user"), ("file", given, b"z", "text/plain")])
        check(j["files"][0]["filename"] == stored, "%r stored as %r" % (given, j))
        sid, fid = j["session_id"], j["files"][0]["fileId"]
        o = c.request("GET", "/v1/sessions/%s/objects/%s" % (sid, fid)).json()
        check(o["originalFilename"] == stored, "object %r" % o)
        r = c.request("GET", "/v1/download/%s/%s" % (sid, fid))
        cd = r.header("Content-Disposition")
        base = stored.rsplit("/", 1)[-1]
        check(cd.startswith("attachment; filename="), "disposition %r" % cd)
        if base.isascii():
            check(cd == 'attachment; filename="%s"' % base, "disposition %r" % cd)
        else:
            from urllib.parse import quote
            check(cd.endswith("filename*=UTF-8''" + quote(base, safe="")), "disposition %r" % cd)


def test_upload_bad_names_refused():
    c = server().client()
    for bad in ["../etc/passwd", "a/../../b", "", "x\x01y", ".codeward/code"]:
        r = c.upload([("kind", "user"), ("file", bad, b"z", "text/plain")])
        check(r.status == 400 and r.json()["error"] in ("bad_filename", "no_file"),
              "name %r: %r" % (bad, r))


def test_upload_empty_file():
    c = server().client()
    j = upload_csv(c, [("kind", "user"), ("file", "empty.txt", b"", "text/plain"),
                       ("file", "after.txt", b"after", "text/plain")])
    check([f["filename"] for f in j["files"]] == ["empty.txt", "after.txt"], "%r" % j)
    r = c.request("GET", "/v1/download/%s/%s" % (j["session_id"], j["files"][0]["fileId"]))
    check(r.status == 200 and r.body == b"" and r.header("Content-Length") == "0", "%r" % r)
    r = c.request("GET", "/v1/download/%s/%s" % (j["session_id"], j["files"][1]["fileId"]))
    check(r.body == b"after", "%r" % r)


def test_upload_too_large_is_413():
    s = server("small")
    c = s.client()
    r = c.upload([("kind", "user"), ("file", "big.bin", b"x" * (1024 * 1024 + 1), "x/y")])
    check(r.status == 413 and r.json()["error"] == "File size limit exceeded", "%r" % r)
    # exactly at the cap is fine, and nothing of the refused one stays
    r = c.upload([("kind", "user"), ("file", "cap.bin", b"x" * (1024 * 1024), "x/y")])
    check(r.status == 200, "at the cap: %r" % r)
    leftovers = [f for d, _, fs in os.walk(s.store) for f in fs if f.startswith(".tmp.")]
    check(leftovers == [], "temporary files left: %r" % leftovers)


def test_upload_batch():
    s = server("small")
    c = s.client()
    parts = [("kind", "skill"), ("id", USER_B), ("version", "3"), ("read_only", "true"),
             ("file", "SKILL.md", b"# skill\n", "text/markdown"),
             ("file", "pptx/scripts/helper.py", b"print(1)\n", "application/octet-stream"),
             ("file", "big.bin", b"y" * (1024 * 1024 + 5), "application/octet-stream"),
             ("file", "../bad", b"z", "text/plain")]
    r = c.upload(parts, path="/v1/upload/batch")
    check(r.status == 200, "batch: %r" % r)
    j = r.json()
    check(j["succeeded"] == 2 and j["failed"] == 2, "counts %r" % j)
    check(j["session_id"] == j["storage_session_id"], "%r" % j)
    st = [(f["status"], f["filename"]) for f in j["files"]]
    check(st == [("success", "SKILL.md"), ("success", "pptx/scripts/helper.py"),
                 ("error", "big.bin"), ("error", "../bad")], "statuses %r" % st)
    check(j["files"][2]["error"] == "File size limit exceeded", "%r" % j["files"][2])
    lst = c.request("GET", "/v1/files/%s?detail=full" % j["session_id"]).json()
    check(sorted(x["metadata"]["original-filename"] for x in lst) ==
          ["SKILL.md", "pptx/scripts/helper.py"], "listing %r" % lst)
    check(all(x["kind"] == "skill" for x in lst), "%r" % lst)


def test_upload_bad_requests():
    c = server().client()
    r = c.request("POST", "/v1/upload", b"{}", headers={"Content-Type": "application/json"})
    check(r.status == 415 and r.json()["error"], "json body: %r" % r)
    r = c.upload([("kind", "user")])
    check(r.status == 400 and r.json()["error"] == "no_file", "no file: %r" % r)
    body = multipart([("kind", "user"), ("file", "a.txt", b"abc", "text/plain")])
    cut = body[:body.rindex(b"--\r\n") - 30]
    r = c.request("POST", "/v1/upload", cut, headers={"Content-Type": content_type()})
    check(r.status == 400 and r.json()["error"] == "bad_multipart", "cut body: %r" % r)
    r = c.upload([("kind", "robot"), ("file", "a.txt", b"abc", "text/plain")])
    check(r.status == 400 and "kind" in r.json()["message"], "kind: %r" % r)
    r = c.upload([("kind", "user"), ("file", "a.txt", b"abc", "text/plain")],
                 headers={"User-Id": "bad user"})
    check(r.status == 400 and r.json()["error"] == "bad_user_id", "user id: %r" % r)


# --- downloads, freshness, listing, delete ------------------------------------

def test_download_exact_headers():
    c = server().client()
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(5000)
    j = upload_csv(c, [("kind", "user"), ("id", USER_A), ("file", "plot.png", png, "image/png")])
    r = c.request("GET", "/v1/download/%s/%s?kind=user&id=%s" % (j["session_id"],
                  j["files"][0]["fileId"], USER_A),
                  headers={"Accept-Encoding": "gzip, compress, deflate, br"})
    check(r.status == 200 and r.body == png, "bytes: %d %d" % (r.status, len(r.body)))
    check(r.header("Content-Length") == str(len(png)), "length %r" % r.headers)
    check(r.header("Content-Type") == "image/png", "type %r" % r.headers)
    check(r.header("Content-Disposition") == 'attachment; filename="plot.png"', "%r" % r.headers)
    check(r.header("Content-Encoding") is None, "encoding %r" % r.headers)
    check(r.header("Transfer-Encoding") is None, "chunked download %r" % r.headers)


def test_freshness_object():
    c = server().client()
    t0 = datetime.datetime.now(datetime.timezone.utc)
    j = upload_csv(c)
    sid, fid = j["session_id"], j["files"][0]["fileId"]
    r = c.request("GET", "/v1/sessions/%s/objects/%s?kind=user&id=%s" % (sid, fid, USER_A))
    check(r.status == 200, "%r" % r)
    o = r.json()
    check(o["name"] == "%s/%s" % (sid, fid), "name %r" % o)
    check(o["size"] == len(CSV) and o["etag"] == sha256(CSV), "size/etag %r" % o)
    check(o["contentType"] == "text/csv" and o["originalFilename"] == "data.csv", "%r" % o)
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["lastModified"]), "%r" % o)
    lm = datetime.datetime.strptime(o["lastModified"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    check(abs((lm - t0).total_seconds()) < 5, "lastModified %s vs %s" % (lm, t0))


def test_listing_details():
    c = server().client()
    j = upload_csv(c, [("kind", "user"), ("id", USER_A), ("file", "a.csv", CSV, "text/csv"),
                       ("file", "b/c.txt", b"hi", "text/plain")])
    sid = j["session_id"]
    ids = [f["fileId"] for f in j["files"]]
    for detail in ("simple", "summary", "full", "normalized", None):
        q = "" if detail is None else "?detail=" + detail
        r = c.request("GET", "/v1/files/%s%s" % (sid, q))
        check(r.status == 200 and isinstance(r.json(), list) and len(r.json()) == 2,
              "%s: %r" % (detail, r))
        for item in r.json():
            if detail in ("simple", "summary", "full", None):
                s, rest = item["name"].split("/", 1)
                # old clients: the id is the text after '/' up to the first '.'
                check(s == sid and rest.split(".")[0] in ids, "%s name %r" % (detail, item))
            if detail in ("summary", "full", None):
                check({"size", "lastModified", "etag"} <= set(item), "%s %r" % (detail, item))
            if detail == "full":
                check(item["metadata"]["original-filename"] in ("a.csv", "b/c.txt") and
                      item["metadata"]["content-type"] == item["contentType"], "%r" % item)
            if detail == "normalized":
                check(item["storage_session_id"] == sid and item["id"] in ids and
                      item["name"] in ("a.csv", "b/c.txt"), "%r" % item)
    r = c.request("GET", "/v1/files/%s?detail=everything" % sid)
    check(r.status == 400, "bad detail %r" % r)
    r = c.request("GET", "/v1/files/%s" % ("Q" * 21))
    check(r.status == 200 and r.json() == [], "unknown session %r" % r)
    r = c.request("GET", "/v1/files/%s?detail=full&kind=user&id=%s" % (sid, USER_B))
    check(r.status == 200 and r.json() == [], "another user's listing %r" % r)


def test_delete_both_forms():
    c = server().client()
    j = upload_csv(c, [("kind", "user"), ("file", "a.csv", CSV, "text/csv"),
                       ("file", "b.csv", CSV, "text/csv")])
    sid = j["session_id"]
    a, b = [f["fileId"] for f in j["files"]]
    for path, fid in (("/v1/files/%s/%s", a), ("/v1/sessions/%s/objects/%s", b)):
        r = c.request("DELETE", path % (sid, fid))
        check(r.status == 200 and r.json() == {"message": "File deleted successfully",
                                                 "session_id": sid, "fileId": fid}, "%r" % r)
        r = c.request("DELETE", path % (sid, fid))
        check(r.status == 404, "second delete %r" % r)
        r = c.request("GET", "/v1/download/%s/%s" % (sid, fid))
        check(r.status == 404 and r.json()["error"] == "File not found", "download %r" % r)
        r = c.request("GET", "/v1/sessions/%s/objects/%s" % (sid, fid))
        check(r.status == 404, "freshness %r" % r)
    check(c.request("GET", "/v1/files/" + sid).json() == [], "listing after delete")


def test_ids_of_the_wrong_form_are_400():
    c = server().client()
    good = "A" * 21
    for sid, fid in ((good, "A" * 20), (good, "A" * 22), ("A" * 20 + ".", good),
                     (good, "a.png"), ("x" * 300, good), (good, "%41" * 21)):
        for path in ("/v1/download/%s/%s", "/v1/sessions/%s/objects/%s", "/v1/files/%s/%s"):
            m = "DELETE" if path.startswith("/v1/files") else "GET"
            r = c.request(m, path % (sid, fid))
            if fid == "%41" * 21:   # percent-decoded by the server: a valid id, no file
                check(r.status == 404, "%s %s: %r" % (m, path % (sid, fid), r))
                continue
            check(r.status == 400 and r.json()["error"] == "bad_id",
                  "%s %s: %r" % (m, path % (sid, fid), r))
    r = c.request("GET", "/v1/files/short")
    check(r.status == 400 and r.json()["error"] == "bad_id", "listing %r" % r)
    r = c.request("GET", "/v1/download/%s/%s" % (good, good))
    check(r.status == 404, "well-formed, missing: %r" % r)


def test_owners():
    c = server().client()
    j = upload_csv(c)      # kind=user, id=A, User-Id: A
    sid, fid = j["session_id"], j["files"][0]["fileId"]
    for q, hdr, want in (("?kind=user&id=" + USER_B, {}, 404),
                         ("", {"User-Id": USER_B}, 404),
                         ("?kind=user&id=" + USER_A, {}, 200),
                         ("", {"User-Id": USER_A}, 200),
                         ("?kind=agent&id=agent_x", {}, 200),
                         ("", {}, 200)):
        for path in ("/v1/download/%s/%s", "/v1/sessions/%s/objects/%s"):
            r = c.request("GET", (path % (sid, fid)) + q, headers=hdr)
            check(r.status == want, "%s%s %r: %r" % (path, q, hdr, r))
    r = c.request("DELETE", "/v1/files/%s/%s" % (sid, fid), headers={"User-Id": USER_B})
    check(r.status == 404, "another user's delete %r" % r)
    r = c.request("GET", "/v1/download/%s/%s" % (sid, fid))
    check(r.status == 200, "still there %r" % r)


# --- the rest of the surface ----------------------------------------------------

def test_auth_on_file_routes():
    s = server()
    c = s.client(auth=False)
    for m, p in (("GET", "/v1/files/" + "A" * 21), ("GET", "/v1/download/%s/%s" % ("A" * 21, "B" * 21)),
                 ("POST", "/v1/upload"), ("DELETE", "/v1/files/%s/%s" % ("A" * 21, "B" * 21))):
        r = c.request(m, p, headers={"Content-Type": content_type()})
        check(r.status == 401 and r.json()["error"] == "unauthorized", "%s %s: %r" % (m, p, r))
    c = Client(s.port, {"x-api-key": s.key})
    check(c.request("GET", "/v1/files/" + "A" * 21).status == 200, "lower-case header")
    c = Client(s.port, {"authorization": "bearer " + s.key})
    check(c.request("GET", "/v1/files/" + "A" * 21).status == 200, "bearer key")


def test_no_auth_mode_current_generation():
    c = server("none").client(auth=False)
    j = upload_csv(c)
    r = c.request("GET", "/v1/download/%s/%s" % (j["session_id"], j["files"][0]["fileId"]))
    check(r.status == 200 and r.body == CSV, "%r" % r)


def test_programmatic_routes_and_unknown_routes():
    c = server().client()
    # the route is there (tests/jail/test_ptc_api.py runs it): its refusals
    r = c.request("POST", "/v1/exec/programmatic", {"tools": []})
    check(r.status == 400 and "code" in r.json()["message"], "%r" % r)
    r = c.request("POST", "/v1/exec/programmatic", {"continuation_token": "x", "tool_results": []})
    check(r.status == 400 and r.json()["error"] == "bad_token", "%r" % r)
    r = c.request("POST", "/v1/exec/programmatic/cancel", {"request_id": "nothing-runs"})
    check(r.status == 404 and r.json()["error"] == "not_found", "%r" % r)
    r = c.request("GET", "/v1/nothing")
    check(r.status == 404 and r.json()["error"] == "not_found", "%r" % r)
    r = c.request("PUT", "/v1/upload", b"x")
    check(r.status == 405 and r.json()["error"] == "method_not_allowed", "%r" % r)


def test_keep_alive_many_requests_and_idle():
    c = server().client().connect()
    port = c.local_port()
    j = upload_csv(c)
    path = "/v1/sessions/%s/objects/%s" % (j["session_id"], j["files"][0]["fileId"])
    for i in range(200):
        r = c.request("GET", path)
        check(r.status == 200, "request %d: %r" % (i, r))
    check(c.c is not None and c.local_port() == port, "the connection was not kept")
    time.sleep(7)      # LibreChat's agent keeps sockets over 5 s
    r = c.request("GET", path)
    check(r.status == 200 and c.local_port() == port, "after 7 s idle: %r" % r)


def test_upload_100mb_memory_stays_low():
    s = server()
    c = s.client()
    size = 100 * 1024 * 1024
    body, h = big_upload([("kind", "user"), ("id", USER_A)], "big.bin", size)
    before = vm_hwm_kb(s.proc.pid)
    r = c.request("POST", "/v1/upload", body, headers={"Content-Type": content_type()},
                  chunked=True)
    check(r.status == 200, "100 MB upload: %r" % r)
    hwm = vm_hwm_kb(s.proc.pid)
    print("routes server VmHWM before %d kB, after a 100 MB upload %d kB" % (before, hwm))
    check(hwm < 48 * 1024, "resident high-water mark %d kB during a 100 MB upload" % hwm)
    j = r.json()
    o = c.request("GET", "/v1/sessions/%s/objects/%s" % (j["session_id"], j["files"][0]["fileId"])).json()
    check(o["size"] == size and o["etag"] == h.hexdigest(), "stored %r" % o)
    r = c.request("GET", "/v1/download/%s/%s" % (j["session_id"], j["files"][0]["fileId"]))
    check(len(r.body) == size and sha256(r.body) == h.hexdigest(), "download of 100 MB")
    hwm2 = vm_hwm_kb(s.proc.pid)
    print("routes server VmHWM after downloading it %d kB" % hwm2)
    check(hwm2 < 48 * 1024, "resident high-water mark %d kB after the download" % hwm2)

# --- strictness: a NUL or a cut upload ----------------------------------------

def form_pieces(parts):
    """multipart() piece by piece as form-data streams it: each part's
    header, its value and its CRLF separately, then the closing line."""
    for p in parts:
        if len(p) == 2:
            yield ('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n' %
                   (FORM_BOUNDARY, p[0])).encode()
            yield p[1].encode()
        else:
            yield ('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                   'Content-Type: %s\r\n\r\n' % (FORM_BOUNDARY, p[0], p[1], p[3])).encode()
            yield p[2]
        yield b"\r\n"
    yield ("--%s--\r\n" % FORM_BOUNDARY).encode()


def upload_head(s, extra=""):
    return ("POST /v1/upload HTTP/1.1\r\nHost: x\r\nX-API-Key: %s\r\nUser-Id: %s\r\n"
            "Content-Type: %s\r\nTransfer-Encoding: chunked\r\n%s\r\n" %
            (s.key, USER_A, content_type(), extra)).encode()


def send_chunk(rc, piece):
    rc.s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
    time.sleep(0.05)    # each its own read on the server's side


def test_tiny_uploads_each_piece_its_own_chunk():
    """1-5 bytes, each form-data piece its own HTTP chunk: one file, exact."""
    s = server()
    c = s.client()
    for n in range(1, 6):
        data = bytes(range(65, 65 + n))
        rc = RawConn(s.port, timeout=30)
        try:
            rc.s.sendall(upload_head(s))
            for piece in form_pieces([("kind", "user"), ("id", USER_A),
                                      ("file", "t%d.txt" % n, data, "text/plain")]):
                send_chunk(rc, piece)
            rc.s.sendall(b"0\r\n\r\n")
            r = rc.read_answer()
        finally:
            rc.close()
        check(r.status == 200, "%d bytes: %r" % (n, r))
        j = r.json()
        check(len(j["files"]) == 1, "%d bytes stored as %r" % (n, j["files"]))
        r = c.request("GET", "/v1/download/%s/%s" % (j["session_id"], j["files"][0]["fileId"]))
        check(r.status == 200 and r.body == data, "%d bytes came back as %r" % (n, r))
        lst = c.request("GET", "/v1/files/%s?detail=full" % j["session_id"]).json()
        check(len(lst) == 1, "%d bytes listed as %r" % (n, lst))


def temp_files(store):
    return [f for _, _, fs in os.walk(store) for f in fs if f.startswith(".tmp.")]


def start_cut_upload(s):
    """An upload whose file has begun arriving, and nothing more."""
    rc = RawConn(s.port, timeout=30)
    rc.s.sendall(upload_head(s))
    for piece in list(form_pieces([("kind", "user"),
                                   ("file", "cut.bin", b"x" * 70000, "x/y")]))[:5]:
        send_chunk(rc, piece)
    wait_for(lambda: temp_files(s.store), 10, "the upload's temporary file")
    return rc


def test_cut_upload_leaves_no_temporary_file():
    s = server()
    rc = start_cut_upload(s)
    rc.close()
    wait_for(lambda: not temp_files(s.store), 5, "the temporary file to go")
    # a frontd that dies mid-upload: the next one clears what it left
    s2 = RoutesServer(name="routes-dies")
    try:
        rc = start_cut_upload(s2)
        s2.proc.kill()
        s2.proc.wait()
        rc.close()
        check(temp_files(s2.store), "a killed server leaves its temporary file")
        s3 = RoutesServer(name="routes-after", store=s2.store, key=s2.key)
        s3.stop()
        check(temp_files(s2.store) == [], "left after a restart: %r" % temp_files(s2.store))
    finally:
        s2.stop()


def raw(s, head, body=b""):
    rc = RawConn(s.port, timeout=30)
    try:
        return rc.exchange(head + b"\r\n" + body)
    finally:
        rc.close()


def check_400(r, what):
    check(r.status == 400 and r.json()["error"] == "bad_request", "%s: %r" % (what, r))


def test_nul_in_path_and_query_is_400():
    s = server()
    j = upload_csv(s.client())
    path = "/v1/download/%s/%s" % (j["session_id"], j["files"][0]["fileId"])
    key = s.key.encode()
    ok = raw(s, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key + b"\r\n")
    check(ok.status == 200 and ok.body == CSV, "the plain download: %r" % ok)
    for what, head in [
            ("%00 in the path", b"GET " + path.encode() + b"%00 HTTP/1.1\r\nHost: x\r\n"
             b"X-API-Key: " + key + b"\r\n"),
            ("%00 in a route", b"POST /v1/exec%00 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
             b"X-API-Key: " + key + b"\r\n"),
            ("%00 in the query", b"GET /v1/files/" + j["session_id"].encode() +
             b"?kind=user&id=u%00../x HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key + b"\r\n")]:
        check_400(raw(s, head), what)
    # each request on a kept-alive connection is judged on its own (a
    # refusal in the first call of the handler closes the connection)
    rc = RawConn(s.port, timeout=30)
    try:
        for suffix, want in ((b"", 200), (b"%00", 400)):
            r = rc.exchange(b"GET " + path.encode() + suffix + b" HTTP/1.1\r\nHost: x\r\n"
                            b"X-API-Key: " + key + b"\r\n\r\n")
            check(r.status == want, "keep-alive %r: %r" % (suffix, r))
    finally:
        rc.close()
    check(temp_files(s.store) == [], "temporary files %r" % temp_files(s.store))


def test_zz_stop():
    for s in list(servers.values()):
        s.stop()
        check(s.proc.returncode == 0, "server exit %r:\n%s" % (s.proc.returncode, s.logtext()))
    servers.clear()


if __name__ == "__main__":
    try:
        main(globals())
    finally:
        for s in servers.values():
            s.stop()
