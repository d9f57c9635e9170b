#!/usr/bin/python3
"""Regenerate the JWT fuzz corpus (corpus/jwt): tokens signed with the
fuzzer's fixed key (seed 32 x 0x07) at its fixed clock, plus public-key files.
Needs the openssl command (Ed25519 signing with -rawin). Run by hand; the
files are checked in."""
import base64, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "jwt")
NOW = 1767225600
# PKCS#8 DER of an Ed25519 private key: fixed prefix + 32-byte seed
SEED = bytes([7]) * 32
PKCS8 = bytes.fromhex("302e020100300506032b657004220420") + SEED


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(msg):
    with tempfile.TemporaryDirectory() as d:
        k = os.path.join(d, "k.der")
        m = os.path.join(d, "msg")
        open(k, "wb").write(PKCS8)
        open(m, "wb").write(msg)   # -rawin signs a file, not a pipe
        return subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-keyform", "DER",
                               "-inkey", k, "-in", m], capture_output=True, check=True).stdout


def pubpem():
    with tempfile.TemporaryDirectory() as d:
        k = os.path.join(d, "k.der")
        open(k, "wb").write(PKCS8)
        return subprocess.run(["openssl", "pkey", "-inform", "DER", "-in", k, "-pubout"],
                              capture_output=True, check=True).stdout


def token(header, claims):
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(claims, separators=(",", ":")).encode())
    m = (h + "." + p).encode()
    return m + b"." + b64u(sign(m)).encode()


def good(**kw):
    c = {"iss": "librechat", "aud": "codeapi", "sub": "6650f1c2a1b2c3d4e5f60718",
         "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 290}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


H = {"alg": "EdDSA", "typ": "JWT", "kid": "k1"}
cases = {
    "good": token(H, good()),
    "good-aud-array": token(H, good(aud=["x", "codeapi"])),
    "expired": token(H, good(iat=NOW - 400, nbf=NOW - 400, exp=NOW - 100)),
    "nbf-future": token(H, good(iat=NOW, nbf=NOW + 100, exp=NOW + 200)),
    "wrong-aud": token(H, good(aud="other")),
    "wrong-iss": token(H, good(iss="evil")),
    "long-life": token(H, good(exp=NOW + 3600)),
    "no-sub": token(H, good(sub=None)),
    "alg-none": token({"alg": "none"}, good()).rsplit(b".", 1)[0] + b".",
    "alg-hs256": token({"alg": "HS256"}, good()),
    "crit": token({"alg": "EdDSA", "crit": ["b64"]}, good()),
}
os.makedirs(OUT, exist_ok=True)
for name, tok in cases.items():
    open(os.path.join(OUT, "tok-" + name), "wb").write(b"\x00" + tok)
pem = pubpem()
open(os.path.join(OUT, "pem-good"), "wb").write(b"\x01" + pem)
open(os.path.join(OUT, "pem-crlf"), "wb").write(b"\x01" + pem.replace(b"\n", b"\r\n"))
open(os.path.join(OUT, "pem-cut"), "wb").write(b"\x01" + pem[:40])
print("wrote %d files to %s" % (len(cases) + 3, OUT), file=sys.stderr)
