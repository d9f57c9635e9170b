"""frontd alone, under a fake privd (no Docker needed): its confinement, the
seccomp filter it holds in every thread (exactly frontd's, which try-syscall
shows killing its forbidden calls), and authentication over HTTP exactly as
LibreChat's clients send it."""
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from cwsec import (FakePrivd, Signer, b64u, check_confined, check_filter, claims,
                   keytool_hash, threads, wait_exit)
from cwtest import SOURCE, check, main

EXEC = {"lang": "py", "code": "print(1)"}
TMP = tempfile.mkdtemp(prefix="cw-sec-keys-")


def request(f, headers, source="127.0.0.1", path="/v1/exec"):
    """POST from a chosen loopback address (each counts on its own)."""
    c = http.client.HTTPConnection("127.0.0.1", f.port, timeout=20, source_address=(source, 0))
    h = {"Content-Type": "application/json"}
    h.update(headers)
    c.request("POST" if path == "/v1/exec" else "GET", path,
              body=json.dumps(EXEC).encode() if path == "/v1/exec" else None, headers=h)
    r = c.getresponse()
    raw = r.read()
    hdrs = dict((k.lower(), v) for k, v in r.getheaders())
    c.close()
    return r.status, (json.loads(raw) if raw else None), hdrs


# --- confinement and seccomp ---------------------------------------------------------

def test_confined():
    with FakePrivd(name="conf") as f:
        pid = f.proc.pid
        check(len(threads(pid)) >= 3, "frontd threads %r" % threads(pid))
        check_confined(pid, "codeward-front", "frontd")


def test_filter_is_frontds_while_serving():
    """What the test triggers proved, without them: every thread of the
    running frontd, its HTTP threads included, holds exactly frontd's filter
    (frontd/filter.c); tests/security/try_syscall.c shows that filter
    killing execve, socket(AF_INET), socket(AF_UNIX), ptrace and fork (in a
    thread made before it and in one made after) and letting openat
    through."""
    with FakePrivd(name="filter") as f:
        st, j, _ = request(f, {"X-API-Key": f.key})
        check(st == 200, "a run before the check: %s %r" % (st, j))
        pid = f.proc.pid
        check(len(threads(pid)) >= 3, "frontd threads %r" % threads(pid))
        check_filter(pid, "frontd")
        st, j, _ = request(f, {"X-API-Key": f.key})
        check(st == 200 and f.proc.poll() is None, "serving after the check: %s %r" % (st, j))


# --- privd's answers ------------------------------------------------------------------

def test_an_answer_frontd_does_not_expect_ends_it():
    """frontd takes privd's answers through its own table: one a request did
    not ask for (a session outcome for a run without a session, another
    answer type than the request waits for, a request type) ends frontd,
    which the supervisor then restarts with privd."""
    why = {"session-outcome": "a session outcome for a run without a session",
           "health-for-exec": "unexpected answer type 66",
           "request-type": "privd sent type 3"}
    for lie in FakePrivd.LIES:
        with FakePrivd(name="lie-" + lie, lie=lie) as f:
            try:
                request(f, {"X-API-Key": f.key})
            except (OSError, http.client.HTTPException):
                pass    # the connection dies with frontd
            rc = wait_exit(f.proc, 10, "frontd")
            check(rc == 1 and why[lie] in f.text_log(),
                  "%s: exit %r\n%s" % (lie, rc, f.text_log()))


# --- API keys -------------------------------------------------------------------------

def test_api_keys():
    with FakePrivd(name="keys") as f:
        st, j, _ = request(f, {})
        check(st == 401 and j["error"] == "unauthorized", "missing: %s %r" % (st, j))
        cases = [
            ("wrong", {"X-API-Key": "wrong"}),
            ("truncated", {"x-api-key": f.key[:-1]}),
            ("extended", {"X-API-KEY": f.key + "A"}),
            ("overlong", {"X-API-Key": f.key + "A" * 300}),
            ("one char changed", {"X-API-Key": f.key[:-1] + ("B" if f.key[-1] != "B" else "C")}),
            ("empty bearer", {"Authorization": "Bearer "}),
            ("basic", {"Authorization": "Basic " + b64u(f.key.encode())}),
        ]
        for i, (what, h) in enumerate(cases):
            st, j, _ = request(f, h, source="127.0.0.%d" % (10 + i))
            check(st == 401 and j == {"error": "unauthorized",
                                      "message": "the API key or token is not valid"},
                  "%s key: %s %r" % (what, st, j))
        for h in ({"X-API-Key": f.key}, {"x-api-key": f.key},
                  {"Authorization": "Bearer " + f.key}, {"authorization": "bearer " + f.key}):
            st, j, _ = request(f, h)
            check(st == 200 and j["stdout"] == "fake privd ran it\n", "right key %r: %s %r" % (h, st, j))
        # health is open; a key is neither needed nor checked there
        st, _, _ = request(f, {"X-API-Key": "wrong"}, path="/v1/health")
        check(st == 200, "health: %s" % st)
        log = f.text_log()
        check(f.key not in log and f.key[:-1] not in log, "a key reached the log")
        check(log.count("auth: refused from 127.0.0.") == len(cases), "refusals logged:\n" + log)


def test_rate_limit():
    with FakePrivd(name="limit") as f:
        for i in range(10):
            st, j, _ = request(f, {"X-API-Key": "guess-%d" % i}, source="127.0.0.2")
            check(st == 401, "guess %d: %s %r" % (i, st, j))
        st, j, h = request(f, {"X-API-Key": "guess-10"}, source="127.0.0.2")
        check(st == 429 and j["error"] == "rate_limited", "11th guess: %s %r" % (st, j))
        check(j["retry_after_seconds"] in (5, 6), "retry_after_seconds %r" % j)
        check(h.get("retry-after") == str(j["retry_after_seconds"]), "Retry-After %r" % h)
        # while limited, the right key is still accepted (the credential is
        # checked first: failures never refuse a valid one), a wrong one is not
        st, j, _ = request(f, {"X-API-Key": f.key}, source="127.0.0.2")
        check(st == 200, "right key while limited: %s %r" % (st, j))
        st, j, _ = request(f, {"X-API-Key": "guess-11"}, source="127.0.0.2")
        check(st == 429, "a guess while limited: %s %r" % (st, j))
        # other addresses are not affected
        st, j, _ = request(f, {"X-API-Key": "guess-12"}, source="127.0.0.3")
        check(st == 401, "another address: %s %r" % (st, j))
        # one failure comes back after LIMIT_REFILL_S (6 s)
        time.sleep(6.2)
        st, j, _ = request(f, {"X-API-Key": "guess-13"}, source="127.0.0.2")
        check(st == 401, "after the refill: %s %r" % (st, j))
        log = f.text_log()
        check(log.count("auth: refused from 127.0.0.2") == 11, "limited attempts logged:\n" + log)


def test_auth_none_is_loud():
    with FakePrivd(overrides=[("auth", "mode", "none")], name="none") as f:
        st, j, _ = request(f, {})
        check(st == 200, "no key in mode none: %s %r" % (st, j))
        check("AUTH IS OFF" in f.text_log(), "mode none not logged:\n" + f.text_log())
    with FakePrivd(name="notnone") as f:
        check("AUTH IS OFF" not in f.text_log(), "AUTH IS OFF logged in api-key mode")


def test_codeward_key_add():
    """./codeward key add prints a new key once and stores only its hash; a
    frontd loading that file takes every key added, and nothing else."""
    etc = tempfile.mkdtemp(prefix="cw-sec-etc-")
    keys = []
    for _ in range(2):
        r = subprocess.run([os.path.join(SOURCE, "codeward"), "key", "add"], cwd=SOURCE,
                           env=dict(os.environ, CODEWARD_ETC=etc), capture_output=True, text=True)
        check(r.returncode == 0, "key add: %d %s" % (r.returncode, r.stderr))
        lines = r.stdout.splitlines()
        check(len(lines) == 1 and re.fullmatch(r"cw_[A-Za-z0-9_-]{43}", lines[0]),
              "key add printed %r" % r.stdout)
        check(lines[0] not in r.stderr, "the key was printed twice")
        keys.append(lines[0])
    check(keys[0] != keys[1], "two key adds gave one key")
    path = os.path.join(etc, "keys")
    text = open(path).read()
    check(os.stat(path).st_mode & 0o777 == 0o600, "keys file mode %o" % os.stat(path).st_mode)
    check(all(k not in text for k in keys), "a key is stored in clear")
    check(text == keytool_hash(keys[0]) + keytool_hash(keys[1]), "keys file %r" % text)
    f = FakePrivd(name="keyadd")
    shutil.copy(path, f.keys_path)
    with f:
        for k in keys:
            st, j, _ = request(f, {"X-API-Key": k})
            check(st == 200, "added key: %s %r" % (st, j))
        st, j, _ = request(f, {"X-API-Key": keys[0][:-1]}, source="127.0.4.1")
        check(st == 401, "cut key: %s" % st)
    shutil.rmtree(etc, ignore_errors=True)


# --- JWTs -------------------------------------------------------------------------------

def jwt_app(signer, mode="jwt", name="jwt"):
    return FakePrivd(overrides=[("auth", "mode", mode), ("auth", "jwt-public-key", signer.pub)],
                     name=name)


def test_jwt():
    s = Signer(TMP)
    other = Signer(tempfile.mkdtemp(dir=TMP))
    now = int(time.time())
    with jwt_app(s) as f:
        good = s.token(claims())
        st, j, _ = request(f, {"Authorization": "Bearer " + good})
        check(st == 200, "good token: %s %r\n%s" % (st, j, f.text_log()))
        check(f.users[-1] == "6650f1c2a1b2c3d4e5f60718", "sub did not become the user: %r" % f.users)
        st, j, _ = request(f, {"authorization": "bearer " + s.token(claims(sub="u-2@x"))})
        check(st == 200 and f.users[-1] == "u-2@x", "lower-case header: %s %r" % (st, f.users))
        hs = (b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." +
              b64u(json.dumps(claims()).encode()))
        hs += "." + b64u(hmac.new(s.pub_pem, hs.encode(), hashlib.sha256).digest())
        bad = [
            ("expired", s.token(claims(iat=now - 400, nbf=now - 400, exp=now - 100))),
            ("not yet valid", s.token(claims(iat=now, nbf=now + 120, exp=now + 240))),
            ("issued in the future", s.token(claims(iat=now + 120, nbf=now + 120, exp=now + 240))),
            ("wrong aud", s.token(claims(aud="someone-else"))),
            ("wrong iss", s.token(claims(iss="not-librechat"))),
            ("other key", other.token(claims())),
            ("bad signature", good[:-2] + ("AA" if good[-2:] != "AA" else "BA")),
            ("alg none", s.token(claims(), header={"alg": "none", "typ": "JWT"}, sign=False)),
            ("alg HS256, public key as secret", hs),
            ("lifetime 301 s", s.token(claims(iat=now, nbf=now, exp=now + 301))),
            ("an API key in jwt mode", f.key),
        ]
        for i, (what, tok) in enumerate(bad):
            st, j, _ = request(f, {"Authorization": "Bearer " + tok}, source="127.0.1.%d" % (i + 1))
            check(st == 401 and j["error"] == "unauthorized", "%s: %s %r" % (what, st, j))
        st, j, _ = request(f, {"X-API-Key": f.key}, source="127.0.2.1")
        check(st == 401, "X-API-Key in jwt mode: %s %r" % (st, j))
        st, j, _ = request(f, {}, source="127.0.2.2")
        check(st == 401 and "required" in j["message"], "no token: %s %r" % (st, j))
        log = f.text_log()
        check(good.split(".")[2] not in log, "a token reached the log")
    # both accepted: a bearer with dots is a token, without is a key
    with jwt_app(s, mode="api-key+jwt", name="both") as f:
        for h in ({"Authorization": "Bearer " + s.token(claims())}, {"X-API-Key": f.key},
                  {"Authorization": "Bearer " + f.key}):
            st, j, _ = request(f, h)
            check(st == 200, "api-key+jwt %r: %s %r" % (list(h), st, j))
        st, j, _ = request(f, {"Authorization": "Bearer " + other.token(claims())},
                           source="127.0.3.1")
        check(st == 401, "api-key+jwt, other key's token: %s" % st)


def upload(f, headers, name, data, fields=()):
    boundary = "cwsec" + b64u(os.urandom(9))
    body = b""
    for k, v in fields:
        body += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                 % (boundary, k, v)).encode()
    body += ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
             "Content-Type: application/octet-stream\r\n\r\n" % (boundary, name)).encode()
    body += data + ("\r\n--%s--\r\n" % boundary).encode()
    c = http.client.HTTPConnection("127.0.0.1", f.port, timeout=20)
    h = {"Content-Type": "multipart/form-data; boundary=" + boundary}
    h.update(headers)
    c.request("POST", "/v1/upload", body=body, headers=h)
    r = c.getresponse()
    raw = r.read()
    c.close()
    return r.status, json.loads(raw)


def download(f, headers, sid, fid):
    c = http.client.HTTPConnection("127.0.0.1", f.port, timeout=20)
    c.request("GET", "/v1/download/%s/%s" % (sid, fid), headers=headers)
    r = c.getresponse()
    raw = r.read()
    c.close()
    return r.status, raw


def test_jwt_sub_owns_files():
    """With JWTs the token's sub is the owner: no header or field overrides it."""
    s = Signer(TMP)
    with jwt_app(s, mode="api-key+jwt", name="owners") as f:
        alice = {"Authorization": "Bearer " + s.token(claims(sub="alice"))}
        bob = {"Authorization": "Bearer " + s.token(claims(sub="bob"))}
        st, j = upload(f, dict(alice, **{"User-Id": "bob"}), "notes.txt", b"alice's notes",
                       fields=[("kind", "user"), ("id", "bob")])
        check(st == 200, "upload: %s %r" % (st, j))
        sid, fid = j["session_id"], j["files"][0]["fileId"]
        st, raw = download(f, alice, sid, fid)
        check(st == 200 and raw == b"alice's notes", "owner's download: %s" % st)
        for who, h in (("bob", bob), ("bob claiming alice", dict(bob, **{"User-Id": "alice"}))):
            st, raw = download(f, h, sid, fid)
            check(st == 404, "%s downloads alice's file: %s" % (who, st))
        # an API key holder speaks for LibreChat's users: its User-Id is taken
        st, raw = download(f, {"X-API-Key": f.key, "User-Id": "alice"}, sid, fid)
        check(st == 200, "key holder for alice: %s" % st)
        st, raw = download(f, {"X-API-Key": f.key, "User-Id": "bob"}, sid, fid)
        check(st == 404, "key holder for bob: %s" % st)


def test_jwt_key_file_is_checked_at_start():
    """A key that is not an Ed25519 SPKI in PEM stops frontd at start."""
    f = FakePrivd(name="badkey")
    bad = os.path.join(TMP, "rsa.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024",
                    "-out", bad + ".key"], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", bad + ".key", "-pubout", "-out", bad],
                   check=True, capture_output=True)
    f.overrides += [("auth", "mode", "jwt"), ("auth", "jwt-public-key", bad)]
    f.start(wait_healthy=False)
    rc = wait_exit(f.proc, 10, "frontd")
    f.stop()
    check(rc == 1 and "not an Ed25519 SubjectPublicKeyInfo" in f.text_log(),
          "frontd with an RSA key: exit %r\n%s" % (rc, f.text_log()))
    shutil.rmtree(f.dir, ignore_errors=True)


def exec_raw(f, body):
    c = http.client.HTTPConnection("127.0.0.1", f.port, timeout=20)
    c.request("POST", "/v1/exec", body=body,
              headers={"X-API-Key": f.key, "Content-Type": "application/json"})
    r = c.getresponse()
    raw = r.read()
    c.close()
    return r.status, (json.loads(raw) if raw else None)


def test_exec_body_nul_and_trailing_bytes_are_400():
    """A NUL in any JSON string or key, raw or escaped, and any byte but
    whitespace after the JSON value: 400, before privd is asked."""
    ok = b'{"lang": "py", "code": "print(1)", "user_id": "u1"}'
    cases = [
        ("NUL in the code", b'{"lang": "py", "code": "print(1)\\u0000print(2)"}'),
        ("NUL after the lang", b'{"lang": "py\\u0000bash", "code": "print(1)"}'),
        ("NUL ending the lang", b'{"lang": "bash\\u0000", "code": "echo 1"}'),
        ("NUL in a key", b'{"lang\\u0000": "py", "lang": "py", "code": "print(1)"}'),
        ("NUL in the user", b'{"lang": "py", "code": "print(1)", "user_id": "u\\u0000../x"}'),
        ("NUL in an argument", b'{"lang": "py", "code": "print(1)", "args": ["a\\u0000b"]}'),
        ("NUL in a file name", b'{"lang": "py", "code": "1", "files": [{"id": "a", '
                               b'"session_id": "b", "name": "x\\u0000y"}]}'),
        ("raw NUL in the code", b'{"lang": "py", "code": "print(1)\0print(2)"}'),
        ("bytes after the body", ok + b'{"lang": "bash", "code": "id"}'),
        ("a byte after the body", ok + b"x"),
        ("a NUL after the body", ok + b"\0"),
    ]
    with FakePrivd(name="strict") as f:
        st, j = exec_raw(f, ok + b" \r\n\t")
        check(st == 200 and j["stdout"] == "fake privd ran it\n",
              "whitespace after the body: %s %r" % (st, j))
        runs = len(f.users)
        for what, body in cases:
            st, j = exec_raw(f, body)
            check(st == 400 and j["error"] == "bad_request" and "message" in j,
                  "%s: %s %r" % (what, st, j))
        # a backslash before "u0000" is no NUL
        st, j = exec_raw(f, b'{"lang": "py", "code": "print(\\"\\\\u0000\\")"}')
        check(st == 200, "an escaped backslash: %s %r" % (st, j))
        check(len(f.users) == runs + 1, "privd was asked %d times" % (len(f.users) - runs))


if __name__ == "__main__":
    try:
        main(globals())
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
