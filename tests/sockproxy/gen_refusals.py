#!/usr/bin/python3
"""Writes the refusal corpus: hostile requests as raw bytes, one file each.

Run it to regenerate refusals/ after a change here; the files are checked in
and test_refusals.py replays them as they are. A file's name starts with the
facts (Fnn) and rules (Rnn) of sockproxy/README.md it exercises. Placeholders of
fixed length, replaced at replay time so Content-Length stays right:
  X*64  a container id this sockproxy created
  Z*64  an exec id this sockproxy created
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "refusals")
CID = "X" * 64
EID = "Z" * 64
IMG = "sha256:" + "ab" * 32          # the mock policy's one image
MEM = 512 << 20
RUNNER = ["/usr/local/bin/cw-run", "py"]

corpus = {}


def add(name, data):
    if name in corpus:
        raise SystemExit("duplicate corpus name " + name)
    corpus[name] = data if isinstance(data, bytes) else data.encode("latin-1")


def req(method, target, body=None, ctype="application/json", headers=None,
        version="HTTP/1.1", host=True):
    h = "%s %s %s\r\n" % (method, target, version)
    if host:
        h += "Host: docker\r\n"
    if body is not None and ctype:
        h += "Content-Type: %s\r\n" % ctype
    if body is not None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        h += "Content-Length: %d\r\n" % len(body)
    for k, v in headers or []:
        h += "%s: %s\r\n" % (k, v)
    return h.encode("utf-8") + b"\r\n" + (body or b"")


def hc(**kw):
    d = {"Memory": MEM, "MemorySwap": MEM, "NanoCpus": 1000000000, "PidsLimit": 128}
    d.update(kw)
    return d


def create(top=None, host=None, raw=None):
    """privd's create body with top-level additions and HostConfig additions."""
    if raw is not None:
        return req("POST", "/v1.41/containers/create", raw)
    b = {"Image": IMG, "Cmd": ["sleep", "infinity"], "HostConfig": hc(**(host or {}))}
    b.update(top or {})
    return req("POST", "/v1.41/containers/create", json.dumps(b, separators=(",", ":")))


def base_hc_json():
    return json.dumps(hc(), separators=(",", ":"))


def exec_(top=None, cmd=None):
    b = {"Cmd": cmd or RUNNER, "Env": ["CW_TIMEOUT_MS=1000", "CW_LANG=py"]}
    b.update(top or {})
    return req("POST", "/v1.41/containers/%s/exec" % CID, json.dumps(b, separators=(",", ":")))


# ---- tar helpers: ustar headers with every field under control ----------

def octal(v, width):
    return (("%0*o" % (width - 1, v)).encode() + b"\0")


def tar_header(name, typeflag=b"0", mode=0o644, uid=10001, gid=10001, size=0,
               linkname=b"", magic=b"ustar\x0000", uname=b"", prefix=b"",
               devmajor=b"", checksum_delta=0, size_field=None):
    if isinstance(name, str):
        name = name.encode()
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = octal(mode, 8)
    h[108:116] = octal(uid, 8)
    h[116:124] = octal(gid, 8)
    h[124:136] = size_field if size_field is not None else octal(size, 12)
    h[136:148] = octal(1700000000, 12)
    h[156:157] = typeflag
    h[157:157 + len(linkname)] = linkname
    h[257:265] = magic
    h[265:265 + len(uname)] = uname
    h[329:329 + len(devmajor)] = devmajor
    h[345:345 + len(prefix)] = prefix
    h[148:156] = b" " * 8
    s = sum(h) + checksum_delta
    h[148:156] = ("%06o" % s).encode() + b"\0 "
    return bytes(h)


def pad(data):
    return data + b"\0" * ((512 - len(data) % 512) % 512)


def tar(*entries, end=True, trailing=b""):
    out = b""
    for e in entries:
        out += e
    if end:
        out += b"\0" * 1024
    return out + trailing


def ok_file(name="x.txt", data=b"hi\n", **kw):
    return tar_header(name, size=len(data), **kw) + pad(data)


def put(body):
    return req("PUT", "/v1.41/containers/%s/archive?path=/mnt/data" % CID, body,
               ctype="application/x-tar")


def build():
    L = "/v1.41/containers/json"
    # ---- F1: keys matched case-insensitively by the daemon
    add("F01-R05-hostconfig-key-lowercase",
        create(raw='{"Image":"%s","Cmd":["sleep","infinity"],"hostconfig":%s}' % (IMG, base_hc_json())))
    add("F01-R05-privileged-lowercase-in-hostconfig", create(host={"privileged": True}))
    add("F01-F04-memory-case-twin",
        create(raw='{"Image":"%s","Cmd":["sleep","infinity"],"HostConfig":{"Memory":%d,"MemorySwap":%d,"NanoCpus":1000000000,"PidsLimit":128,"memory":68719476736}}' % (IMG, MEM, MEM)))
    add("F01-image-key-lowercase",
        create(raw='{"image":"%s","Cmd":["sleep","infinity"],"HostConfig":%s}' % (IMG, base_hc_json())))
    add("F01-F14-exec-privileged-lowercase", exec_({"privileged": True}))
    # ---- F2: Unicode case folding
    add("F02-R05-long-s-securityopt-escaped",
        create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":{"Memory":%d,"MemorySwap":%d,"NanoCpus":1000000000,"PidsLimit":128,"\\u017fecurityOpt":["seccomp=unconfined"]}}' % (IMG, MEM, MEM)))
    add("F02-R05-long-s-securityopt-raw-utf8",
        create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":{"Memory":%d,"MemorySwap":%d,"NanoCpus":1000000000,"PidsLimit":128,"\u017fecurityOpt":["seccomp=unconfined"]}}' % (IMG, MEM, MEM)))
    add("F02-R05-kelvin-networkmode-escaped",
        create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":{"Memory":%d,"MemorySwap":%d,"NanoCpus":1000000000,"PidsLimit":128,"Networ\\u212aMode":"host"}}' % (IMG, MEM, MEM)))
    add("F02-R05-kelvin-networkmode-raw-utf8",
        create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":{"Memory":%d,"MemorySwap":%d,"NanoCpus":1000000000,"PidsLimit":128,"Networ\u212aMode":"host"}}' % (IMG, MEM, MEM)))
    # ---- F3: escapes decoded in keys
    add("F03-escaped-privileged",
        create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":{"Memory":%d,"MemorySwap":%d,"NanoCpus":1000000000,"PidsLimit":128,"\\u0050rivileged":true}}' % (IMG, MEM, MEM)))
    add("F03-escaped-image-key",
        create(raw='{"\\u0049mage":"%s","Cmd":["sleep"],"HostConfig":%s}' % (IMG, base_hc_json())))
    add("F03-escaped-slash-in-hostconfig-key",
        create(raw='{"Image":"%s","Cmd":["sleep"],"Host\\/Config":%s}' % (IMG, base_hc_json())))
    # ---- F4: duplicates
    add("F04-duplicate-memory-last-wins",
        create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":{"Memory":%d,"MemorySwap":%d,"NanoCpus":1000000000,"PidsLimit":128,"Memory":68719476736}}' % (IMG, MEM, MEM)))
    add("F04-duplicate-hostconfig-objects-merge",
        create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":%s,"HostConfig":{"Privileged":true}}' % (IMG, base_hc_json())))
    add("F04-duplicate-cmd-arrays",
        create(raw='{"Image":"%s","Cmd":["sleep"],"Cmd":["sh","-c","id"],"HostConfig":%s}' % (IMG, base_hc_json())))
    add("F04-duplicate-image",
        create(raw='{"Image":"%s","Image":"debian:bookworm-slim","Cmd":["sleep"],"HostConfig":%s}' % (IMG, base_hc_json())))
    add("F04-F14-exec-duplicate-cmd",
        req("POST", "/v1.41/containers/%s/exec" % CID,
            '{"Cmd":["/usr/local/bin/cw-run","py"],"Cmd":["sh","-c","id"]}'))
    # ---- F5: bytes after the first value
    good = json.dumps({"Image": IMG, "Cmd": ["sleep"], "HostConfig": hc()}, separators=(",", ":"))
    add("F05-trailing-second-object", create(raw=good + '{"HostConfig":{"Privileged":true}}'))
    add("F05-trailing-newline", create(raw=good + "\n"))
    add("F05-trailing-nul", create(raw=good + "\0"))
    add("F05-trailing-garbage", create(raw=good + "]]]"))
    # ---- F6: legacy top-level HostConfig fields
    add("F06-toplevel-privileged-binds-no-hostconfig",
        create(raw='{"Image":"%s","Cmd":["sleep"],"Privileged":true,"Binds":["/:/host"]}' % IMG))
    add("F06-toplevel-memory-with-hostconfig", create(top={"Memory": 68719476736}))
    add("F06-toplevel-cpuset-with-hostconfig", create(top={"CpusetCpus": "0-63"}))
    add("F06-toplevel-volumedriver", create(top={"VolumeDriver": "evil"}))
    add("F06-hostconfig-null-toplevel-privileged",
        create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":null,"Privileged":true}' % IMG))
    # ---- F7: old API versions apply a start body as HostConfig
    add("F07-R03-v123-start-with-hostconfig-body",
        req("POST", "/v1.23/containers/%s/start" % CID, '{"Privileged":true,"Binds":["/:/h"]}'))
    add("F07-R04-v141-start-with-body",
        req("POST", "/v1.41/containers/%s/start" % CID, '{"Privileged":true}'))
    # ---- F8: loose version prefix
    add("F08-R03-no-version-prefix", create().replace(b"/v1.41/containers/create", b"/containers/create", 1))
    add("F08-R03-version-1.41.0", create().replace(b"/v1.41/", b"/v1.41.0/", 1))
    add("F08-R03-version-01.041", create().replace(b"/v1.41/", b"/v01.041/", 1))
    add("F08-R03-version-1.40", create().replace(b"/v1.41/", b"/v1.40/", 1))
    add("F08-R03-version-1.12", create().replace(b"/v1.41/", b"/v1.12/", 1))
    add("F08-R03-version-uppercase-v", create().replace(b"/v1.41/", b"/V1.41/", 1))
    add("F08-R03-version-1.42", req("GET", "/v1.42/containers/json"))
    # ---- F9: percent-decoding and dot segments
    add("F09-R02-percent-encoded-create", create().replace(b"/containers/create", b"/containers/%63reate", 1))
    add("F09-R02-encoded-slash", create().replace(b"/containers/create", b"/containers%2Fcreate", 1))
    add("F09-R02-double-slash", create().replace(b"/v1.41/containers", b"/v1.41//containers", 1))
    add("F09-R02-dot-segment", create().replace(b"/v1.41/containers", b"/v1.41/./containers", 1))
    add("F09-R02-dotdot-segment", create().replace(b"/v1.41/containers", b"/v1.41/x/../containers", 1))
    add("F09-R02-trailing-slash", req("GET", "/v1.41/containers/json/"))
    add("F09-R02-percent-encoded-id", req("POST", "/v1.41/containers/%s/kill" % ("%58" + CID[3:])))
    # ---- F10: names, prefixes, ids with slashes
    add("F10-R08-container-name", req("POST", "/v1.41/containers/codeward-box/start"))
    add("F10-R08-id-prefix-12", req("POST", "/v1.41/containers/%s/kill" % CID[:12]))
    add("F10-R08-id-prefix-1", req("DELETE", "/v1.41/containers/X"))
    add("F10-R08-foreign-full-id", req("POST", "/v1.41/containers/%s/kill" % ("e" * 64)))
    add("F10-R08-uppercase-id", req("POST", "/v1.41/containers/%s/kill" % ("E" * 64)))
    add("F10-R08-route-var-with-slash-exec",
        req("POST", "/v1.41/containers/%s/start/exec" % CID, json.dumps({"Cmd": RUNNER})))
    add("F10-R08-id-65-chars", req("POST", "/v1.41/containers/%s/kill" % (CID + "X")))
    add("F10-R08-exec-start-foreign-id", req("POST", "/v1.41/exec/%s/start" % ("d" * 64)))
    add("F10-R08-exec-inspect-with-container-id", req("GET", "/v1.41/exec/%s/json" % CID))
    add("F10-R08-wait-foreign-id", req("POST", "/v1.41/containers/%s/wait" % ("c" * 64)))
    # ---- F11: queries
    add("F11-archive-duplicate-path", req("GET", "/v1.41/containers/%s/archive?path=/mnt/data&path=/" % CID))
    add("F11-archive-other-path-first", req("GET", "/v1.41/containers/%s/archive?path=/&path=/mnt/data" % CID))
    add("F11-remove-with-query", req("DELETE", "/v1.41/containers/%s?force=0&v=no" % CID))
    add("F11-list-all-yes", req("GET", L + "?all=yes"))
    add("F11-list-filters", req("GET", L + "?filters={}"))
    add("F11-kill-signal-query", req("POST", "/v1.41/containers/%s/kill?signal=SIGHUP" % CID))
    add("F11-create-name-query", create().replace(b"/containers/create", b"/containers/create?name=x", 1))
    add("F11-archive-empty-query", req("GET", "/v1.41/containers/%s/archive?" % CID))
    # ---- F12: Go net/http leniency
    add("F12-R02-chunked-and-length",
        create().replace(b"Content-Length:", b"Transfer-Encoding: chunked\r\nContent-Length:", 1))
    add("F12-R02-chunked-only",
        b"POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n0\r\n\r\n")
    add("F12-R02-obs-fold",
        create().replace(b"Host: docker\r\n", b"Host: docker\r\n X-Folded: yes\r\n", 1))
    add("F12-R02-bare-lf", req("GET", L).replace(b"\r\n", b"\n"))
    add("F12-R02-bare-cr", req("GET", L).replace(b"Host: docker\r\n", b"Host: docker\r", 1))
    add("F12-R02-pipelined", req("GET", L) + req("GET", "/v1.41/_ping"))
    add("F12-R02-pipelined-after-body", create() + req("GET", "/v1.41/version"))
    add("F12-R02-absolute-form", req("GET", "http://docker/v1.41/containers/json"))
    add("F12-R02-http10-no-host", req("GET", L, version="HTTP/1.0", host=False))
    add("F12-R02-http11-no-host", req("GET", L, host=False))
    add("F12-R02-expect-100-continue", create().replace(b"Host: docker\r\n", b"Host: docker\r\nExpect: 100-continue\r\n", 1))
    add("F12-R02-duplicate-content-length", create().replace(b"Content-Length:", b"Content-Length: 10\r\nContent-Length:", 1))
    add("F12-R02-content-length-plus", create().replace(b"Content-Length: ", b"Content-Length: +", 1))
    add("F12-R02-content-length-leading-zero", create().replace(b"Content-Length: ", b"Content-Length: 0", 1))
    add("F12-R02-lowercase-header-name", req("GET", L).replace(b"Host:", b"host:"))
    add("F12-R02-space-before-colon", req("GET", L).replace(b"Host:", b"Host :"))
    add("F12-R02-no-space-after-colon", req("GET", L).replace(b"Host: ", b"Host:"))
    add("F12-R02-tab-after-colon", req("GET", L).replace(b"Host: ", b"Host:\t"))
    add("F12-R02-method-lowercase", req("GET", L).replace(b"GET", b"get", 1))
    add("F12-R02-http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    add("F12-R02-asterisk-form", b"OPTIONS * HTTP/1.1\r\nHost: docker\r\n\r\n")
    # ---- F13: content type parsed loosely by the daemon
    add("F13-ctype-mixed-case", create().replace(b"application/json", b"Application/JSON", 1))
    add("F13-ctype-charset", create().replace(b"application/json", b"application/json; charset=x", 1))
    add("F13-ctype-missing", req("POST", "/v1.41/containers/create", good, ctype=None))
    add("F13-ctype-text-plain", create().replace(b"application/json", b"text/plain", 1))
    add("F13-archive-ctype-json", put(tar(ok_file())).replace(b"application/x-tar", b"application/json", 1))
    # ---- F14: exec privileges, user, TTY
    add("F14-R05-exec-privileged", exec_({"Privileged": True}))
    add("F14-R05-exec-privileged-false-still-unknown", exec_({"Privileged": False}))
    add("F14-R05-exec-user-root", exec_({"User": "0"}))
    add("F14-R05-exec-user-root-name", exec_({"User": "root:root"}))
    add("F14-R05-exec-tty", exec_({"Tty": True}))
    add("F14-R05-exec-attach-stdin", exec_({"AttachStdin": True}))
    add("F14-R05-exec-workingdir", exec_({"WorkingDir": "/"}))
    add("F14-R05-exec-detach-keys", exec_({"DetachKeys": "ctrl-p"}))
    add("F14-R06-exec-not-a-runner", exec_(cmd=["sh", "-c", "id"]))
    add("F14-R06-exec-runner-prefix-only", exec_(cmd=["/usr/local/bin/cw-run"]))
    add("F14-R04-exec-start-body-tty",
        req("POST", "/v1.41/exec/%s/start" % EID, '{"Detach":false,"Tty":true}'))
    add("F14-R04-exec-start-body-detach",
        req("POST", "/v1.41/exec/%s/start" % EID, '{"Detach":true}'))
    add("F14-R11-exec-resize", req("POST", "/v1.41/exec/%s/resize?h=1&w=1" % EID))
    # ---- F15: archive entries extracted as root
    add("F15-R09-tar-setuid-root-file", put(tar(ok_file("sh", uid=0, gid=0, mode=0o4755))))
    add("F15-R09-tar-setuid-sandbox-file", put(tar(ok_file("sh", mode=0o4755))))
    add("F15-R09-tar-setgid-dir", put(tar(tar_header("d/", b"5", mode=0o2755))))
    add("F15-R09-tar-sticky-dir", put(tar(tar_header("d/", b"5", mode=0o1777))))
    add("F15-R09-tar-fifo", put(tar(tar_header("f", b"6"))))
    add("F15-R09-tar-symlink", put(tar(tar_header("l", b"2", mode=0o777, linkname=b"/etc/passwd"))))
    add("F15-R09-tar-hardlink", put(tar(tar_header("l", b"1", linkname=b"x.txt"))))
    add("F15-R09-tar-char-device", put(tar(tar_header("null", b"3", devmajor=octal(1, 8)))))
    add("F15-R09-tar-block-device", put(tar(tar_header("sda", b"4", devmajor=octal(8, 8)))))
    rec = b"SCHILY.xattr.security.capability=" + bytes([1, 0, 0, 2, 0, 0x20, 0, 0]) + b"\n"
    n = len(rec) + 3
    rec = (b"%d " % n) + rec
    add("F15-R09-tar-pax-xattr-capability",
        put(tar(tar_header("PaxHeaders/x", b"x", size=len(rec)) + pad(rec), ok_file("x"))))
    longname = b"a" * 150
    add("F15-R09-tar-gnu-longname",
        put(tar(tar_header("././@LongLink", b"L", size=len(longname) + 1) + pad(longname + b"\0"), ok_file("x"))))
    add("F15-R09-tar-pax-global", put(tar(tar_header("g", b"g", size=512) + b"\0" * 512, ok_file())))
    add("F15-R09-tar-root-owner", put(tar(ok_file(uid=0, gid=0))))
    add("F15-R09-tar-other-owner", put(tar(ok_file(uid=1000, gid=1000))))
    add("F15-R09-tar-absolute-name", put(tar(ok_file("/etc/cron.d/x"))))
    add("F15-R09-tar-dotdot-name", put(tar(ok_file("../../etc/x"))))
    add("F15-R09-tar-dotdot-via-prefix", put(tar(ok_file("x", prefix=b".."))))
    add("F15-R09-tar-dot-component", put(tar(ok_file("./x"))))
    add("F15-R09-tar-empty-component", put(tar(ok_file("a//x"))))
    add("F15-R09-tar-control-char-name", put(tar(ok_file("a\nb"))))
    add("F15-R09-tar-invalid-utf8-name", put(tar(ok_file(b"\xff\xfe"))))
    add("F15-R09-tar-bad-checksum", put(tar(ok_file(checksum_delta=1))))
    add("F15-R09-tar-gnu-magic", put(tar(ok_file(magic=b"ustar  \0"))))
    add("F15-R09-tar-v7-no-magic", put(tar(ok_file(magic=b"\0" * 8))))
    add("F15-R09-tar-old-regular-type-nul", put(tar(ok_file(typeflag=b"\0"))))
    add("F15-R09-tar-contiguous-type", put(tar(ok_file(typeflag=b"7"))))
    add("F15-R09-tar-uname-set", put(tar(ok_file(uname=b"root"))))
    add("F15-R09-tar-linkname-on-file", put(tar(ok_file(linkname=b"/etc/shadow"))))
    add("F15-R09-tar-trailing-garbage", put(tar(ok_file(), trailing=b"\x01" + b"\0" * 511)))
    add("F15-R09-tar-trailing-zero-blocks", put(tar(ok_file(), trailing=b"\0" * 512)))
    add("F15-R09-tar-missing-end", put(tar(ok_file(), ok_file("y"), end=False)))
    add("F15-R09-tar-one-zero-block-then-entry", put(b"\0" * 512 + tar(ok_file())))
    add("F15-R09-tar-nonzero-padding", put(tar(tar_header("x", size=3) + b"abc" + b"\x01" * 509)))
    add("F15-R09-tar-directory-with-data", put(tar(tar_header("d/", b"5", mode=0o755, size=512) + b"\0" * 512)))
    add("F15-R09-tar-file-name-with-slash-end", put(tar(ok_file("x/"))))
    add("F15-R09-tar-mode-type-bits", put(tar(ok_file(mode=0o100644))))
    add("F15-R09-tar-base256-size",
        put(tar(tar_header("x", size_field=b"\x80" + b"\0" * 10 + b"\x03") + b"abc" + b"\0" * 509)))
    add("F15-R10-archive-not-block-multiple", put(tar(ok_file()) + b"\0"))
    # ---- F16: archive paths
    for name, q in (("root", "/"), ("tmp", "/tmp"), ("etc", "/etc"),
                    ("dotdot", "/mnt/data/.."), ("subdir", "/mnt/data/sub"),
                    ("trailing-slash", "/mnt/data/")):
        add("F16-R09-archive-put-path-" + name,
            req("PUT", "/v1.41/containers/%s/archive?path=%s" % (CID, q), tar(ok_file()),
                ctype="application/x-tar"))
    add("F16-R09-archive-get-path-etc", req("GET", "/v1.41/containers/%s/archive?path=/etc" % CID))
    # HEAD (a stat) is allowed for the work directory alone
    add("F16-R09-archive-head-etc", req("HEAD", "/v1.41/containers/%s/archive?path=/etc" % CID))
    add("F16-R09-archive-head-root", req("HEAD", "/v1.41/containers/%s/archive?path=/" % CID))
    add("R04-archive-head-with-body", req("HEAD", "/v1.41/containers/%s/archive?path=/mnt/data" % CID, "x"))
    add("F16-R09-archive-no-query", req("GET", "/v1.41/containers/%s/archive" % CID))
    # ---- F17: debug endpoints
    add("F17-R11-debug-vars", req("GET", "/v1.41/debug/vars"))
    add("F17-R11-debug-vars-unversioned", req("GET", "/debug/vars"))
    add("F17-R11-debug-pprof-post", req("POST", "/v1.41/debug/pprof/profile", "{}"))
    # ---- F18: wait
    add("F18-R04-wait-with-body", req("POST", "/v1.41/containers/%s/wait" % CID, "{}"))
    add("F18-wait-condition-query", req("POST", "/v1.41/containers/%s/wait?condition=removed" % CID))
    add("F18-R11-wait-get", req("GET", "/v1.41/containers/%s/wait" % CID))
    # ---- F19: Connection: Upgrade
    add("F19-R02-connection-upgrade-on-start",
        req("POST", "/v1.41/containers/%s/start" % CID, headers=[("Connection", "Upgrade"), ("Upgrade", "tcp")]))
    add("F19-R02-connection-close-header", req("GET", L, headers=[("Connection", "close")]))
    add("F19-R11-attach-hijack", req("POST", "/v1.41/containers/%s/attach?stream=1&stdin=1" % CID,
                                     headers=[("Connection", "Upgrade"), ("Upgrade", "tcp")]))
    # ---- F20: size and time caps
    add("F20-R10-create-huge-content-length",
        b"POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000000\r\n\r\n{")
    add("F20-R10-json-body-over-cap",
        b"POST /v1.41/containers/%s/exec HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
        b"Content-Length: 65537\r\n\r\n" % CID.encode())
    add("F20-R10-head-too-large", req("GET", L, headers=[("X-Pad", "a" * 9000)]))
    add("F20-R10-archive-over-cap",
        b"PUT /v1.41/containers/%s/archive?path=/mnt/data HTTP/1.1\r\nHost: docker\r\n"
        b"Content-Type: application/x-tar\r\nContent-Length: 999999999488\r\n\r\n" % CID.encode())
    add("F20-R10-create-no-content-length",
        b"POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n\r\n")
    # ---- rule 2: the grammar itself
    add("R02-protocol-lowercase", req("GET", L).replace(b"HTTP/1.1", b"http/1.1", 1))
    add("R02-two-spaces", req("GET", L).replace(b"GET ", b"GET  ", 1))
    add("R02-tab-separator", req("GET", L).replace(b"GET ", b"GET\t", 1))
    add("R02-fragment", req("GET", L + "#x"))
    add("R02-query-on-create", create().replace(b"/containers/create", b"/containers/create?x=1", 1))
    add("R02-host-other", req("GET", L).replace(b"Host: docker", b"Host: localhost"))
    add("R02-duplicate-host", req("GET", L, headers=[("Host", "docker")]))
    add("R02-header-trailing-space", req("GET", L).replace(b"Host: docker", b"Host: docker "))
    add("R02-user-agent", req("GET", L, headers=[("User-Agent", "curl")]))
    add("R02-accept", req("GET", L, headers=[("Accept", "*/*")]))
    add("R02-accept-encoding", req("GET", "/v1.41/containers/%s/archive?path=/mnt/data" % CID,
                                   headers=[("Accept-Encoding", "gzip")]))
    add("R02-x-registry-auth", req("GET", L, headers=[("X-Registry-Auth", "e30=")]))
    add("R02-empty-request-line", b"\r\n\r\n")
    add("R02-nul-in-target", req("GET", "/v1.41/containers/json\0x"))
    add("R02-utf8-in-target", req("GET", "/v1.41/containers/j\u017fon"))
    # ---- rule 4: no body on bodyless routes
    add("R04-start-content-length-zero",
        req("POST", "/v1.41/containers/%s/start" % CID, headers=[("Content-Length", "0")]))
    add("R04-kill-with-body", req("POST", "/v1.41/containers/%s/kill" % CID, '{"Signal":"KILL"}'))
    add("R04-delete-with-body", req("DELETE", "/v1.41/containers/%s" % CID, "{}"))
    add("R04-list-with-body", req("GET", L, '{"all":true}'))
    add("R04-exec-inspect-with-body", req("GET", "/v1.41/exec/%s/json" % EID, "{}"))
    add("R04-bodyless-with-content-type", req("GET", L, headers=[("Content-Type", "application/json")]))
    # ---- rule 5: strict JSON
    add("R05-invalid-utf8-in-cmd", create(raw=b'{"Image":"' + IMG.encode() + b'","Cmd":["\xff"],"HostConfig":' + base_hc_json().encode() + b'}'))
    add("R05-overlong-utf8-slash", create(raw=b'{"Image":"' + IMG.encode() + b'","Cmd":["\xc0\xaf"],"HostConfig":' + base_hc_json().encode() + b'}'))
    add("R05-surrogate-utf8", create(raw=b'{"Image":"' + IMG.encode() + b'","Cmd":["\xed\xa0\x80"],"HostConfig":' + base_hc_json().encode() + b'}'))
    add("R05-escaped-nul", create(top={"Cmd": ["sleep\u0000x"]}))
    add("R05-raw-nul-in-string", create(raw=b'{"Image":"' + IMG.encode() + b'","Cmd":["a\x00b"],"HostConfig":' + base_hc_json().encode() + b'}'))
    add("R05-lone-surrogate-escape", create(raw='{"Image":"%s","Cmd":["\\ud800"],"HostConfig":%s}' % (IMG, base_hc_json())))
    add("R05-raw-control-char", create(raw='{"Image":"%s","Cmd":["a\tb"],"HostConfig":%s}' % (IMG, base_hc_json())))
    add("R05-depth", create(raw='{"Image":"%s","Cmd":%s"sleep"%s,"HostConfig":%s}' % (IMG, "[" * 12, "]" * 12, base_hc_json())))
    add("R05-float-memory", create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":{"Memory":5.36870912e8,"MemorySwap":%d,"NanoCpus":1000000000,"PidsLimit":128}}' % (IMG, MEM)))
    add("R05-exponent-pids", create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":{"Memory":%d,"MemorySwap":%d,"NanoCpus":1000000000,"PidsLimit":1e2}}' % (IMG, MEM, MEM)))
    add("R05-leading-zero-number", create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":{"Memory":0%d,"MemorySwap":%d,"NanoCpus":1000000000,"PidsLimit":128}}' % (IMG, MEM, MEM)))
    add("R05-huge-number", create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":{"Memory":99999999999999999999999,"MemorySwap":%d,"NanoCpus":1000000000,"PidsLimit":128}}' % (IMG, MEM)))
    add("R05-number-as-string", create(host={"PidsLimit": "128"}))
    add("R05-array-too-long", create(top={"Cmd": ["x"] * 300}))
    add("R05-unknown-top-level-key", create(top={"Name": "x"}))
    add("R05-not-an-object", create(raw='["Image"]'))
    add("R05-single-quotes", create(raw="{'Image':'%s'}" % IMG))
    add("R05-comment", create(raw='{"Image":"%s",/*x*/"Cmd":["sleep"],"HostConfig":%s}' % (IMG, base_hc_json())))
    add("R05-trailing-comma", create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":%s,}' % (IMG, base_hc_json())))
    add("R05-utf8-bom", create(raw="\ufeff" + good))
    add("R05-empty-cmd", create(top={"Cmd": []}))
    # ---- rule 6: the create fields the client may not choose
    add("R06-image-not-allowlisted", create(top={"Image": "sha256:" + "cd" * 32}))
    add("R06-image-by-name", create(top={"Image": "codeward-sandbox:current"}))
    add("R06-image-short-id", create(top={"Image": IMG[:19]}))
    add("R06-image-without-sha256-prefix", create(top={"Image": IMG[7:]}))
    add("R06-hostconfig-binds", create(host={"Binds": ["/:/host"]}))
    add("R06-hostconfig-capadd", create(host={"CapAdd": ["SYS_ADMIN"]}))
    add("R06-hostconfig-devices", create(host={"Devices": [{"PathOnHost": "/dev/sda", "PathInContainer": "/dev/sda", "CgroupPermissions": "rwm"}]}))
    add("R06-hostconfig-privileged", create(host={"Privileged": True}))
    add("R06-hostconfig-network-host", create(host={"NetworkMode": "host"}))
    add("R06-hostconfig-network-container", create(host={"NetworkMode": "container:" + "e" * 64}))
    add("R06-hostconfig-pidmode-host", create(host={"PidMode": "host"}))
    add("R06-hostconfig-ipcmode-host", create(host={"IpcMode": "host"}))
    add("R06-hostconfig-usernsmode-host", create(host={"UsernsMode": "host"}))
    add("R06-hostconfig-securityopt", create(host={"SecurityOpt": ["seccomp=unconfined", "apparmor=unconfined"]}))
    add("R06-hostconfig-runtime-policy-is-runc", create(host={"Runtime": "runsc"}))
    add("R06-hostconfig-runtime-other", create(host={"Runtime": "io.containerd.runc.v2"}))
    add("R06-hostconfig-memory-above-policy", create(host={"Memory": MEM * 2, "MemorySwap": MEM * 2}))
    add("R06-hostconfig-memory-zero-unlimited", create(host={"Memory": 0, "MemorySwap": 0}))
    add("R06-hostconfig-memoryswap-unlimited", create(host={"MemorySwap": -1}))
    add("R06-hostconfig-swap-above-memory", create(host={"MemorySwap": MEM * 2}))
    add("R06-hostconfig-pids-zero", create(host={"PidsLimit": 0}))
    add("R06-hostconfig-pids-unlimited", create(host={"PidsLimit": -1}))
    add("R06-hostconfig-pids-above-policy", create(host={"PidsLimit": 100000}))
    add("R06-hostconfig-nanocpus-above-policy", create(host={"NanoCpus": 64000000000}))
    add("R06-hostconfig-cpushares", create(host={"CpuShares": 1000000}))
    add("R06-hostconfig-sysctls", create(host={"Sysctls": {"kernel.shm_rmid_forced": "1"}}))
    add("R06-hostconfig-cgroupparent", create(host={"CgroupParent": "/"}))
    add("R06-hostconfig-mounts-bind", create(host={"Mounts": [{"Type": "bind", "Source": "/", "Target": "/h"}]}))
    add("R06-hostconfig-tmpfs", create(host={"Tmpfs": {"/mnt/data": "exec,suid"}}))
    add("R06-hostconfig-volumesfrom", create(host={"VolumesFrom": ["other"]}))
    add("R06-hostconfig-devicerequests-gpu", create(host={"DeviceRequests": [{"Count": -1, "Capabilities": [["gpu"]]}]}))
    add("R06-hostconfig-readonlyrootfs-false", create(host={"ReadonlyRootfs": False}))
    add("R06-hostconfig-autoremove", create(host={"AutoRemove": True}))
    add("R06-hostconfig-restart-always", create(host={"RestartPolicy": {"Name": "always"}}))
    add("R06-hostconfig-logconfig", create(host={"LogConfig": {"Type": "syslog"}}))
    add("R06-hostconfig-missing", create(raw='{"Image":"%s","Cmd":["sleep"]}' % IMG))
    add("R06-hostconfig-missing-pids", create(raw='{"Image":"%s","Cmd":["sleep"],"HostConfig":{"Memory":%d,"MemorySwap":%d,"NanoCpus":1000000000}}' % (IMG, MEM, MEM)))
    add("R06-labels-owner-forgery", create(top={"Labels": {"codeward.owner": "0" * 64}}))
    add("R06-user-root", create(top={"User": "0:0"}))
    add("R06-volumes", create(top={"Volumes": {"/x": {}}}))
    add("R06-entrypoint", create(top={"Entrypoint": ["/bin/sh"]}))
    add("R06-workingdir", create(top={"WorkingDir": "/"}))
    add("R06-networkingconfig", create(top={"NetworkingConfig": {"EndpointsConfig": {"host": {}}}}))
    add("R06-tty-openstdin", create(top={"Tty": True, "OpenStdin": True}))
    add("R06-env-without-equals", create(top={"Env": ["LD_PRELOAD"]}))
    add("R06-env-bad-name", create(top={"Env": ["A-B=1"]}))
    add("R06-cmd-not-strings", create(top={"Cmd": [1, 2]}))
    # ---- rule 11: every other endpoint
    for name, m, t in (
            ("ping", "GET", "/v1.41/_ping"), ("ping-head", "HEAD", "/v1.41/_ping"),
            ("version", "GET", "/v1.41/version"), ("info", "GET", "/v1.41/info"),
            ("events", "GET", "/v1.41/events"), ("system-df", "GET", "/v1.41/system/df"),
            ("images-json", "GET", "/v1.41/images/json"),
            ("image-pull", "POST", "/v1.41/images/create?fromImage=alpine"),
            ("image-inspect", "GET", "/v1.41/images/%s/json" % IMG),
            ("image-delete", "DELETE", "/v1.41/images/%s" % IMG),
            ("build", "POST", "/v1.41/build"), ("volumes", "GET", "/v1.41/volumes"),
            ("volume-create", "POST", "/v1.41/volumes/create"),
            ("networks", "GET", "/v1.41/networks"),
            ("network-connect", "POST", "/v1.41/networks/host/connect"),
            ("container-inspect", "GET", "/v1.41/containers/%s/json" % CID),
            ("container-logs", "GET", "/v1.41/containers/%s/logs?stdout=1" % CID),
            ("container-top", "GET", "/v1.41/containers/%s/top" % CID),
            ("container-export", "GET", "/v1.41/containers/%s/export" % CID),
            ("container-changes", "GET", "/v1.41/containers/%s/changes" % CID),
            ("container-update", "POST", "/v1.41/containers/%s/update" % CID),
            ("container-rename", "POST", "/v1.41/containers/%s/rename?name=x" % CID),
            ("container-pause", "POST", "/v1.41/containers/%s/pause" % CID),
            ("container-restart", "POST", "/v1.41/containers/%s/restart" % CID),
            ("container-stop", "POST", "/v1.41/containers/%s/stop" % CID),
            ("container-commit", "POST", "/v1.41/commit?container=%s" % CID),
            ("containers-prune", "POST", "/v1.41/containers/prune"),
            ("container-attach-ws", "GET", "/v1.41/containers/%s/attach/ws" % CID),
            ("exec-inspect-via-containers", "GET", "/v1.41/containers/%s/exec" % CID),
            ("swarm", "GET", "/v1.41/swarm"), ("plugins", "GET", "/v1.41/plugins"),
            ("secrets", "GET", "/v1.41/secrets"), ("session", "POST", "/v1.41/session"),
            ("distribution", "GET", "/v1.41/distribution/alpine/json"),
            ("auth", "POST", "/v1.41/auth"),
            ("list-post", "POST", L), ("create-get", "GET", "/v1.41/containers/create"),
            ("remove-post", "POST", "/v1.41/containers/%s" % CID),
            ("start-put", "PUT", "/v1.41/containers/%s/start" % CID),
            ("patch-method", "PATCH", "/v1.41/containers/%s" % CID),
            ("connect-method", "CONNECT", "/v1.41/containers/json")):
        add("R11-" + name, req(m, t))


def main():
    build()
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".http"):
            os.unlink(os.path.join(OUT, f))
    for name, data in sorted(corpus.items()):
        with open(os.path.join(OUT, name + ".http"), "wb") as f:
            f.write(data)
    print("%d requests" % len(corpus))


if __name__ == "__main__":
    sys.exit(main())
