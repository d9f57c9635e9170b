#!/usr/bin/python3
"""A daemon that does not do what it was asked (security, rule 7): sockproxy
compares what the daemon reports with what it sent, and on any difference
removes the container and fails the request. Also: streams the daemon
corrupts end as an error at the client, never as a clean end."""
import json
import sys

import sp_harness as h
from sp_mock import mock_proxy

check = h.check


def deletes(sent, cid):
    want = b"DELETE /v1.41/containers/%s?force=1&v=1 HTTP/1.1\r\n" % cid.encode()
    return [r for r in sent if r.startswith(want)]


def setup(lie, edits=None):
    return mock_proxy("lie", lie, edits)


def create(px):
    return h.call(px.listen, "POST", "/v1.41/containers/create", h.create_body(h.FAKE_IMAGE))


def exec_create(px, cid):
    st, _, out = h.call(px.listen, "POST", "/v1.41/containers/%s/exec" % cid,
                        '{"Cmd":["/usr/local/bin/cw-run","py"]}')
    return st, out


def main():
    h.ensure_users()

    mock, px = setup("privileged")
    try:
        mark = mock.mark()
        st, _, out = create(px)
        sent = mock.since(mark)
        check(st == 502 and b"Privileged" in out,
              "inspect says Privileged:true after create: 502 (%d %s)" % (st, out))
        inspected = [r.split(b"/")[3].decode() for r in sent
                     if r.startswith(b"GET /v1.41/containers/")]
        check(len(inspected) == 1 and deletes(sent, inspected[0]),
              "the container the daemon built is removed with force and volumes")
        check(not mock.containers, "nothing left on the (mock) daemon")
        st, _, out = h.call(px.listen, "GET", "/v1.41/containers/json")
        check(st == 200 and out == b"[]", "the refused container is not listed")
        check("the daemon built something else" in px.logtext(), "the lie is logged")
    finally:
        px.stop()
        mock.close()

    mock, px = setup("privileged-later")
    try:
        st, _, out = create(px)
        check(st == 201, "honest at create: 201")
        cid = json.loads(out)["Id"]
        mark = mock.mark()
        st, _, out = h.call(px.listen, "POST", "/v1.41/containers/%s/start" % cid)
        sent = mock.since(mark)
        check(st == 502, "inspect before start says Privileged:true: 502 (%d)" % st)
        check(not any(r.startswith(b"POST /v1.41/containers/%s/start" % cid.encode()) for r in sent),
              "the container is never started")
        check(deletes(sent, cid) and not mock.containers, "and it is removed")
    finally:
        px.stop()
        mock.close()

    mock, px = setup("exec-privileged")
    try:
        st, _, out = create(px)
        cid = json.loads(out)["Id"]
        mark = mock.mark()
        st, out = exec_create(px, cid)
        sent = mock.since(mark)
        check(st == 502, "exec inspect says privileged:true: 502 (%d %s)" % (st, out))
        check(deletes(sent, cid) and not mock.containers, "the container is removed")
        eid = list(mock.execs)[0]
        mark = mock.mark()
        st, _, out = h.call(px.listen, "POST", "/v1.41/exec/%s/start" % eid)
        check(st == 404 and not mock.since(mark), "the exec can never be started")
    finally:
        px.stop()
        mock.close()

    for lie, what in (("stream-garbage", "a frame of type 3"),
                      ("flood", "more output than the stream cap")):
        mock, px = setup(lie, {"stdout": "1K", "stderr": "1K"})
        try:
            st, _, out = create(px)
            cid = json.loads(out)["Id"]
            st, out = exec_create(px, cid)
            eid = json.loads(out)["Id"]
            resp = h.raw(px.listen, h.request("POST", "/v1.41/exec/%s/start" % eid))
            head, _, body = resp.partition(b"\r\n\r\n")
            data, complete = h.dechunk(body) if body else (b"", False)
            check(head.startswith(b"HTTP/1.1 200") and not complete,
                  "%s: the stream ends without its final chunk" % what)
            if lie == "flood":
                cap = 2 * (1024 + 1024) + 65536
                payload = sum(int.from_bytes(data[i + 4:i + 8], "big") for i in
                              _frames(data))
                check(payload == cap, "flood: exactly the cap (%d) reached the client, got %d"
                      % (cap, payload))
            else:
                check(data == bytes([1, 0, 0, 0, 0, 0, 0, 3]) + b"ok\n",
                      "garbage: only the frames before it reached the client")
        finally:
            px.stop()
            mock.close()

    for lie in ("tar-device", "tar-symlink"):
        mock, px = setup(lie)
        try:
            st, _, out = create(px)
            cid = json.loads(out)["Id"]
            resp = h.raw(px.listen, h.request("GET", "/v1.41/containers/%s/archive?path=/mnt/data" % cid))
            head, _, body = resp.partition(b"\r\n\r\n")
            data, complete = h.dechunk(body)
            if lie == "tar-device":
                check(not complete and b"data/null" not in data,
                      "a device in the archive: stream cut before its header")
            else:
                check(complete and b"data/link" not in data and b"data/fifo" not in data
                      and b"data/out.txt" in data,
                      "links and FIFOs in the archive are left out, the rest arrives")
        finally:
            px.stop()
            mock.close()

    return h.summary()


def _frames(data):
    i = 0
    while i + 8 <= len(data):
        yield i
        i += 8 + int.from_bytes(data[i + 4:i + 8], "big")


if __name__ == "__main__":
    sys.exit(main())
