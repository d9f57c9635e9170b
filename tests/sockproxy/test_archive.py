#!/usr/bin/python3
"""Archive uploads larger than sockproxy's spool (security, rule 9): they are
checked while they stream, so each header is checked before it is passed on,
and the last block is held back until the end of the archive is proven. A
refused upload therefore reaches the daemon cut short (never whole), and
never with the refused header."""
import json
import os
import sys

import sp_harness as h
from sp_mock import Mock
from gen_refusals import ok_file, pad, tar, tar_header

SPOOL = 4 << 20
check = h.check


def put(px, cid, body):
    return h.call(px.listen, "PUT", "/v1.41/containers/%s/archive?path=/mnt/data" % cid,
                  body, "application/x-tar")


def main():
    h.ensure_users()
    d = h.workdir()
    mock = Mock(os.path.join(d, "docker.sock"))
    px = h.Proxy(d, mock.path, h.write_policy(d, h.FAKE_IMAGE), h.instance_name("tar"))
    try:
        px.wait_ready()
        cid = h.proxy_create(px.listen, h.FAKE_IMAGE)
        big = os.urandom(SPOOL + 100000)
        first = ok_file("big.bin", big)

        good = tar(tar_header("sub/", b"5", mode=0o755), first, ok_file("sub/x.csv", b"a,b\n"))
        mark = mock.mark()
        st, _, out = put(px, cid, good)
        sent = mock.since(mark)
        check(st == 200, "a %d-byte archive is accepted (%d %s)" % (len(good), st, out))
        check(len(sent) == 1 and sent[0].endswith(good), "and reaches the daemon intact")

        bad_hdr = tar_header("link", b"2", mode=0o777, linkname=b"/etc/shadow")
        bad = tar(tar_header("sub/", b"5", mode=0o755), first, bad_hdr)
        mark = mock.mark()
        st, _, out = put(px, cid, bad)
        sent = mock.since(mark)
        body = sent[0].partition(b"\r\n\r\n")[2] if sent else b""
        check(st == 400 and b"entry type" in out, "a symlink after 4 MiB is refused (%d %s)" % (st, out))
        check(len(first) < len(body) < len(bad) and bad.startswith(body) and bad_hdr not in body,
              "the daemon got a cut-short prefix without the symlink header (%d of %d bytes)"
              % (len(body), len(bad)))

        noend = tar(tar_header("sub/", b"5", mode=0o755), first, end=False) + b"\0" * 512 + ok_file("y")[:512]
        mark = mock.mark()
        st, _, out = put(px, cid, noend)
        sent = mock.since(mark)
        body = sent[0].partition(b"\r\n\r\n")[2] if sent else b""
        check(st == 400, "a large archive with a broken end is refused (%d %s)" % (st, out))
        check(len(body) <= len(noend) - 512, "its last block never reached the daemon")

        over = tar(ok_file("a", os.urandom(SPOOL)), ok_file("b", os.urandom(SPOOL)))
        st, _, out = h.call(px.listen, "PUT", "/v1.41/containers/%s/archive?path=/mnt/data" % cid,
                            over, "application/x-tar")
        check(st == 200, "two 4 MiB files: accepted (%d)" % st)
    finally:
        px.stop()
        mock.close()

    d = h.workdir()
    mock = Mock(os.path.join(d, "docker.sock"))
    px = h.Proxy(d, mock.path, h.write_policy(d, h.FAKE_IMAGE, {"workdir-size": "1M"}),
                 h.instance_name("tar"))
    try:
        px.wait_ready()
        cid = h.proxy_create(px.listen, h.FAKE_IMAGE)
        mark = mock.mark()
        body = tar(ok_file("a", b"x" * 700000), ok_file("b", b"y" * 700000))
        st, _, out = put(px, cid, body)
        check(st == 400 and b"cap" in out and not mock.since(mark),
              "file data above workdir-size is refused before any byte goes upstream (%d %s)"
              % (st, out))
    finally:
        px.stop()
        mock.close()
    return h.summary()


if __name__ == "__main__":
    sys.exit(main())
