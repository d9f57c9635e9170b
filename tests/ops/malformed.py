"""Malformed requests for the robustness test (test_robustness.py): each one a
name and the exact bytes of one HTTP request. NULs in JSON strings, keys,
headers and paths; bytes after the JSON body; bodies and headers over the
limits; a wrong JSON type for every field of /exec; bad multipart bodies and
wrong fields for /upload. Every one must be answered 4xx with a JSON error."""
import json

SID = "AAAAAAAAAAAAAAAAAAAAA"
FID = "BBBBBBBBBBBBBBBBBBBBB"
GOOD_FILE = {"id": FID, "storage_session_id": SID, "name": "a.txt"}
BOUNDARY = "cwrobustness0123456789"


def http(key, method, path, body=b"", ctype="application/json", extra=(), chunked=False):
    if isinstance(path, str):
        path = path.encode()
    lines = [method.encode() + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1",
             b"Connection: close"]
    if key is not None:
        lines.append(b"X-API-Key: " + key.encode())
    for h in extra:
        lines.append(h if isinstance(h, bytes) else h.encode())
    if body is not None and ctype:
        lines.append(b"Content-Type: " + ctype.encode())
    if body is not None and chunked:
        # one chunk a piece of at most 7 bytes, as a streaming client may
        lines.append(b"Transfer-Encoding: chunked")
        pieces = [body[i:i + 7] for i in range(0, len(body), 7)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    elif body is not None:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def exec_body(**fields):
    b = {"lang": "bash", "code": "echo hi"}
    for k, v in fields.items():
        if v is _DROP:
            b.pop(k, None)
        else:
            b[k] = v
    return json.dumps(b).encode()


_DROP = object()


def multipart(parts, boundary=BOUNDARY):
    out = b""
    for p in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        if len(p) == 2:
            out += b'Content-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (
                p[0].encode(), p[1] if isinstance(p[1], bytes) else p[1].encode())
        else:
            out += (b'Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                    b"Content-Type: text/plain\r\n\r\n%s\r\n") % (
                p[0].encode(), p[1] if isinstance(p[1], bytes) else p[1].encode(), p[2])
    return out + b"--" + boundary.encode() + b"--\r\n"


def requests(key, body_max):
    """[(name, bytes)]: at least 200 of them"""
    out = []

    def exec_(name, body, **kw):
        out.append(("exec " + name, http(key, "POST", "/v1/exec", body, **kw)))
        if len(body) < 4096:
            out.append(("exec chunked " + name,
                        http(key, "POST", "/v1/exec", body, chunked=True, **kw)))

    # a NUL in every string field, escaped and raw, and in keys
    strings = {"lang": "bash", "code": "echo hi", "user_id": "u1",
               "runtime_session_hint": "h"}
    for k, v in strings.items():
        exec_("%s \\u0000" % k, exec_body(**{k: v + "\u0000x"}))
        exec_("%s \\u0000 first" % k, exec_body(**{k: "\u0000" + v}))
        exec_("%s raw NUL" % k, exec_body(**{k: v + "@@"}).replace(b"@@", b"\x00"))
    for f in ("id", "storage_session_id", "name"):
        ref = dict(GOOD_FILE)
        ref[f] = ref[f][:-1] + "\u0000"
        exec_("files[0].%s \\u0000" % f, exec_body(files=[ref]))
    exec_("args \\u0000", exec_body(args=["a\u0000b"]))
    for k in ("lang", "code", "files", "args", "timeout", "user_id"):
        exec_("key %s\\u0000" % k, exec_body().replace(b"{", b'{"%s\\u0000": 1, ' % k.encode(), 1))
    exec_("py\\u0000bash", exec_body(lang="py\u0000bash"))
    exec_("print(1)\\u0000print(2)", exec_body(lang="py", code="print(1)\u0000print(2)"))
    exec_("u\\u0000../x", exec_body(user_id="u\u0000../x"))

    # bytes after the JSON value
    for tail in (b" x", b"{}", b"\x00", b"]", b"null", b",", b"\n\n1", b'"s"',
                 b"\xff", b"}"):
        exec_("trailing %r" % tail, exec_body() + tail)
    # not JSON at all
    for bad in (b"", b"{", b"[]", b"null", b"1", b'"x"', b"{'lang':'bash'}",
                b'{"lang":"bash","code":"x",}', b"\xef\xbb\xbf{}", b"{\"lang\":\"bash\"",
                b'{"lang":"bash","code":"\xff"}'):
        exec_("body %r" % bad[:20], bad)

    # a wrong JSON type for every field
    wrong = [1, 1.5, True, None, [], {}, ["bash"], {"a": 1}]
    for v in wrong:
        exec_("lang %r" % (v,), exec_body(lang=v))
        exec_("code %r" % (v,), exec_body(code=v))
    for v in ("x", 1, True, {}, [1], [None], [[]], [{}]):
        exec_("args %r" % (v,), exec_body(args=v))
    for v in ("x", 1, True, {}, [1], [None], [[]], ["a.txt"],
              [dict(GOOD_FILE, id=1)], [dict(GOOD_FILE, storage_session_id=[])],
              [dict(GOOD_FILE, name=1)], [dict(GOOD_FILE, name=None)],
              [dict(GOOD_FILE, id=None)], [{"id": FID}]):
        exec_("files %r" % (v,), exec_body(files=v))
    for k in ("timeout", "user_id", "runtime_session_hint"):
        for v in ("x" if k == "timeout" else 1, True, [], {}, [1]):
            exec_("%s %r" % (k, v), exec_body(**{k: v}))
    exec_("no lang", exec_body(lang=_DROP))
    exec_("no code", exec_body(code=_DROP))
    exec_("unknown lang", exec_body(lang="cobol"))
    exec_("files bad id", exec_body(files=[dict(GOOD_FILE, id="short")]))
    exec_("files ../ name", exec_body(files=[dict(GOOD_FILE, name="../x")]))

    # over the limits
    exec_("body over the cap", b'{"lang":"bash","code":"' + b"x" * (body_max + 10) + b'"}')
    out.append(("exec content-length huge",
                http(key, "POST", "/v1/exec", b"", extra=()).replace(
                    b"Content-Length: 0", b"Content-Length: 99999999999")))
    out.append(("header 64 KiB", http(key, "GET", "/v1/files/" + SID,
                                      None, extra=("X-Big: " + "a" * 65536,))))
    out.append(("path 8 KiB", http(key, "GET", "/v1/files/" + "A" * 8192, None)))

    # NULs in paths, queries and headers
    for p in ("/v1/download/%s/%s%%00" % (SID, FID), "/v1/download/%s%%00/%s" % (SID, FID),
              "/v1/files/%s%%00" % SID, "/v1/sessions/%s/objects/%s%%00" % (SID, FID),
              "/v1/files/%s?detail=full%%00" % SID, "/v1/files/%s?kind=user&id=u%%00x" % SID,
              "/v1/health%00", "/v1/exec%00"):
        out.append(("GET " + p, http(key, "GET", p, None)))
    out.append(("DELETE NUL", http(key, "DELETE", "/v1/files/%s/%s%%00" % (SID, FID), None)))
    out.append(("User-Id NUL", http(key, "GET", "/v1/files/" + SID, None,
                                    extra=(b"User-Id: u\x00x",))))
    out.append(("X-API-Key NUL", http(None, "GET", "/v1/files/" + SID, None,
                                      extra=(b"X-API-Key: " + key.encode() + b"\x00junk",))))
    out.append(("bad ids", http(key, "GET", "/v1/download/short/id", None)))
    out.append(("bad detail", http(key, "GET", "/v1/files/%s?detail=nope" % SID, None)))

    # /upload: bad multipart, and wrong fields
    ct = "multipart/form-data; boundary=" + BOUNDARY

    def up(name, body, ctype=ct, path="/v1/upload"):
        out.append(("upload " + name, http(key, "POST", path, body, ctype=ctype,
                                           extra=("User-Id: u1",))))

    good = [("kind", "user"), ("id", "u1"), ("file", "a.txt", b"abc")]
    up("no boundary", multipart(good), ctype="multipart/form-data")
    up("other boundary", multipart(good, "zzz"))
    up("json type", json.dumps({"file": "abc"}).encode(), ctype="application/json")
    up("garbage", b"\x00\x01\x02garbage")
    up("empty", b"")
    up("no end", multipart(good)[:-20])
    up("no file", multipart([("kind", "user"), ("id", "u1")]))
    up("kind nope", multipart([("kind", "nope"), ("id", "u1"), ("file", "a.txt", b"abc")]))
    up("id bad", multipart([("kind", "user"), ("id", "u/../x"), ("file", "a.txt", b"abc")]))
    up("id NUL", multipart([("kind", "user"), ("id", b"u\x00x"), ("file", "a.txt", b"abc")]))
    up("name ..", multipart([("kind", "user"), ("id", "u1"), ("file", "../a", b"abc")]))
    up("name NUL", multipart([("kind", "user"), ("id", "u1"), ("file", b"a\x00b", b"abc")]))
    up("name empty", multipart([("kind", "user"), ("id", "u1"), ("file", "", b"abc")]))
    up("batch no file", multipart([("kind", "user")]), path="/v1/upload/batch")
    up("batch garbage", b"--x\r\n", path="/v1/upload/batch")
    up("headerless part", b"--" + BOUNDARY.encode() + b"\r\n\r\nabc\r\n--" +
       BOUNDARY.encode() + b"--\r\n")
    return out
