#!/usr/bin/python3
"""Golden upstream bytes (security): for every operation sockproxy allows, the
exact bytes it writes to the daemon, recorded by a mock daemon and compared
with golden/<operation>.txt. Values that change per run are replaced before
the comparison: @OWNER@ (the per-process owner secret), @INSTANCE@, @CID@,
@EID@, @IMAGE@. The client sees canonical answers, also checked here.

SP_GOLDEN_UPDATE=1 rewrites the golden files (review the diff!)."""
import hashlib
import io
import json
import os
import re
import sys
import tarfile

import sp_harness as h
from sp_mock import CHANNEL_HELLO, Mock, data_tar, frame

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
SEP = b"\n=== next upstream request ===\n"
check = h.check


class Run:
    def __init__(self, px, mock):
        self.px, self.mock = px, mock
        self.subst = {}

    def norm(self, b):
        for k, v in self.subst.items():
            b = b.replace(v.encode(), k.encode())
        return b

    def op(self, name, method, target, body=None, ctype=None, strip_body=False,
           later=False):
        mark = self.mock.mark()
        st, hdrs, out = h.call(self.px.listen, method, target, body, ctype)
        sent = self.mock.since(mark)
        if not later:
            self.golden(name, sent, strip_body)
        return st, hdrs, out, sent

    def golden(self, name, sent, strip_body=False):
        blob = []
        for r in sent:
            if strip_body:
                head, _, b = r.partition(b"\r\n\r\n")
                r = head + b"\r\n\r\n<%d bytes of archive>" % len(b)
            blob.append(self.norm(r))
        got = SEP.join(blob)
        path = os.path.join(GOLDEN, name + ".txt")
        if os.environ.get("SP_GOLDEN_UPDATE"):
            with open(path, "wb") as f:
                f.write(got)
        want = open(path, "rb").read() if os.path.exists(path) else b"<missing golden file>"
        check(got == want, "%s: upstream bytes differ from golden/%s.txt:\n%s\n--- want\n%s"
              % (name, name, got.decode("latin-1"), want.decode("latin-1")))


def small_tar(uid):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in ((".codeward", None), (".codeward/code", b"print(1)\n")):
            ti = tarfile.TarInfo(name)
            ti.uid = ti.gid = uid
            ti.mtime = 1700000000
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            else:
                ti.mode, ti.size = 0o644, len(data)
                t.addfile(ti, io.BytesIO(data))
    raw = b.getvalue()
    end = len(raw)
    while raw[end - 512:end] == b"\0" * 512:
        end -= 512
    return raw[:end] + b"\0" * 1024


def runsc_jail(d):
    """jail-runsc-caps (runtime runsc, isolation jail): the worker's create
    as root with the five capabilities of gVisor's kernel, the agent's
    channel exec as root; any other exec stays the sandbox user."""
    mock = Mock(os.path.join(d, "docker-runsc.sock"))
    prof = os.path.join(d, "profile-runsc.json")
    with open(prof, "w") as f:
        f.write('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]}')
    digest = "sha256:" + hashlib.sha256(open(prof, "rb").read()).hexdigest()
    policy = h.write_policy(d, h.FAKE_IMAGE, {
        "pids": "1024", "runtime": "runsc", "isolation": "jail", "jail-seccomp": digest,
        "jail-runsc-caps": "SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP"})
    inst = h.instance_name("goldenrj")
    px = h.Proxy(d, mock.path, policy, inst, args=["--jail-seccomp", prof])
    try:
        px.wait_ready()
        r = Run(px, mock)
        mark = mock.mark()
        st, _, out = h.call(px.listen, "POST", "/v1.41/containers/create",
                            h.create_body(h.FAKE_IMAGE, pids=256))
        check(st == 201, "runsc jail create: status %d %r" % (st, out))
        cid = json.loads(out)["Id"]
        sent = mock.since(mark)
        owner = re.search(rb'"codeward.owner":"([0-9a-f]{64})"', sent[0]).group(1).decode()
        r.subst = {"@OWNER@": owner, "@INSTANCE@": inst, "@CID@": cid, "@IMAGE@": h.FAKE_IMAGE,
                   "@PROFILE@": json.dumps("seccomp=" + open(prof).read())[1:-1]}
        r.golden("create-runsc-jail", sent)
        st, _, out, sent = r.op("channel-create", "POST", "/v1.41/containers/%s/channel?jail=1" % cid,
                                later=True)
        check(st == 201, "runsc jail channel create: %d %r" % (st, out))
        r.subst["@EID@"] = json.loads(out)["Id"]
        r.golden("channel-create-runsc-jail", sent)
        st, _, out, sent = r.op("exec-create", "POST", "/v1.41/containers/%s/exec" % cid,
                                '{"Cmd":["/usr/local/bin/cw-run","py","-x"],'
                                '"Env":["CW_TIMEOUT_MS=5000","CW_LANG=py"]}', later=True)
        check(st == 201 and b'"User":"10001:10001"' in sent[0],
              "runsc jail: another exec is the sandbox user's: %d %r" % (st, sent[:1]))
    finally:
        px.stop()
        mock.close()


def jail_inbox(d):
    """isolation jail under runc with inputs inbox and --inbox: the worker's
    create binds frontd's inbox read-only at /codeward/inbox, and sockproxy
    holds the container it made to exactly that; without --inbox, none"""
    prof = os.path.join(d, "profile-inbox.json")
    with open(prof, "w") as f:
        f.write('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]}')
    digest = "sha256:" + hashlib.sha256(open(prof, "rb").read()).hexdigest()
    inbox = os.path.join(d, "inbox")
    os.makedirs(inbox, exist_ok=True)
    policy = h.write_policy(d, h.FAKE_IMAGE, {"isolation": "jail", "jail-seccomp": digest,
                                              "inputs": "inbox"})
    for args, name in ((["--inbox", inbox], "create-jail-inbox"), ([], None)):
        mock = Mock(os.path.join(d, "docker-inbox%d.sock" % len(args)))
        inst = h.instance_name("goldenib")
        px = h.Proxy(d, mock.path, policy, inst, args=["--jail-seccomp", prof] + args)
        try:
            px.wait_ready()
            r = Run(px, mock)
            mark = mock.mark()
            st, _, out = h.call(px.listen, "POST", "/v1.41/containers/create",
                                h.create_body(h.FAKE_IMAGE))
            check(st == 201, "jail inbox create: status %d %r" % (st, out))
            sent = mock.since(mark)
            if name is None:
                check(b'"Type":"bind"' not in sent[0], "a bind without --inbox: %r" % sent[0])
                continue
            owner = re.search(rb'"codeward.owner":"([0-9a-f]{64})"', sent[0]).group(1).decode()
            r.subst = {"@OWNER@": owner, "@INSTANCE@": inst, "@CID@": json.loads(out)["Id"],
                       "@IMAGE@": h.FAKE_IMAGE, "@INBOX@": inbox,
                       "@PROFILE@": json.dumps("seccomp=" + open(prof).read())[1:-1]}
            r.golden(name, sent)
            # a bind the engine made shared (a mount in a worker would reach
            # the host): refused, and the container removed
            mock.lie = "propagation"
            before = set(mock.containers)
            st, _, out = h.call(px.listen, "POST", "/v1.41/containers/create",
                                h.create_body(h.FAKE_IMAGE))
            mock.lie = None
            check(st == 502 and set(mock.containers) == before,
                  "an inbox bind made rshared: %d %r, containers %r" % (st, out, mock.containers))
        finally:
            px.stop()
            mock.close()


def main():
    h.ensure_users()
    d = h.workdir()
    mock = Mock(os.path.join(d, "docker.sock"))
    policy = h.write_policy(d, h.FAKE_IMAGE)
    inst = h.instance_name("golden")
    px = h.Proxy(d, mock.path, policy, inst)
    try:
        px.wait_ready()
        r = Run(px, mock)
        r.subst = {"@INSTANCE@": inst, "@IMAGE@": h.FAKE_IMAGE}
        r.golden("startup", mock.since((0, 0)))

        body = h.create_body(h.FAKE_IMAGE)
        mark = mock.mark()
        st, _, out = h.call(px.listen, "POST", "/v1.41/containers/create", body)
        check(st == 201, "create: status %d %r" % (st, out))
        cid = json.loads(out)["Id"]
        check(out == b'{"Id":"%s"}' % cid.encode(), "create: answer %r" % out)
        sent = mock.since(mark)
        owner = re.search(rb'"codeward.owner":"([0-9a-f]{64})"', sent[0]).group(1).decode()
        r.subst = {"@OWNER@": owner, "@INSTANCE@": inst, "@CID@": cid, "@IMAGE@": h.FAKE_IMAGE}
        # replay the create now that the secret is known, as its own golden
        r.golden("create", sent)
        check(owner not in px.logtext(), "the owner secret appears in the log")

        st, _, out, _ = r.op("start", "POST", "/v1.41/containers/%s/start" % cid)
        check(st == 204, "start: %d" % st)

        t = small_tar(10001)
        st, _, out, sent = r.op("archive-put", "PUT",
                                "/v1.41/containers/%s/archive?path=/mnt/data" % cid,
                                t, "application/x-tar", strip_body=True)
        check(st == 200, "archive put: %d %r" % (st, out))
        check(sent and sent[0].endswith(t), "archive put: the tar did not arrive intact")

        st, _, out, sent = r.op("exec-create", "POST", "/v1.41/containers/%s/exec" % cid,
                                '{"Cmd":["/usr/local/bin/cw-run","py","-x"],'
                                '"Env":["CW_TIMEOUT_MS=5000","CW_LANG=py"]}', later=True)
        check(st == 201, "exec create: %d %r" % (st, out))
        eid = json.loads(out)["Id"]
        r.subst["@EID@"] = eid
        r.golden("exec-create", sent)

        st, hdrs, out, _ = r.op("exec-start", "POST", "/v1.41/exec/%s/start" % eid)
        check(st == 200, "exec start: %d" % st)
        check(hdrs.get("transfer-encoding") == "chunked" and
              hdrs.get("content-type") == "application/vnd.docker.raw-stream",
              "exec start: headers %r" % hdrs)
        want = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"more\n")
        check(out == want, "exec start: stream %r" % out)

        st, _, out, _ = r.op("exec-inspect", "GET", "/v1.41/exec/%s/json" % eid)
        check(st == 200 and out == b'{"Running":false,"ExitCode":3}', "exec inspect: %d %r" % (st, out))

        # the agent's channel: its exec (stdin, the fixed argv), its hijacked start
        st, _, out, sent = r.op("channel-create", "POST",
                                "/v1.41/containers/%s/channel" % cid, later=True)
        check(st == 201, "channel create: %d %r" % (st, out))
        r.subst["@EID@"] = json.loads(out)["Id"]
        r.golden("channel-create", sent)
        mark = mock.mark()
        resp = h.raw(px.listen, h.request("POST", "/v1.41/exec/%s/channel" % r.subst["@EID@"]))
        r.golden("channel-start", mock.since(mark))
        head, _, rest = resp.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n") and
              b"\r\nUpgrade: codeward-channel" in head and rest == CHANNEL_HELLO,
              "channel start: 101, then the agent's hello as sockproxy framed it: %r" % resp)

        st, hdrs, out, _ = r.op("archive-get", "GET",
                                "/v1.41/containers/%s/archive?path=/mnt/data" % cid)
        check(st == 200 and out == data_tar(), "archive get: %d, %d bytes" % (st, len(out)))
        check(hdrs.get("content-type") == "application/x-tar", "archive get: %r" % hdrs)

        st, hdrs, out, _ = r.op("archive-stat", "HEAD",
                                "/v1.41/containers/%s/archive?path=/mnt/data" % cid)
        check(st == 200 and out == b"" and hdrs.get("x-codeward-stat") ==
              "size=40 mode=2147484096 mtime=2026-11-22T00:00:00.123456789Z",
              "archive stat: %d %r %r" % (st, hdrs, out))

        st, _, out, _ = r.op("wait", "POST", "/v1.41/containers/%s/wait" % cid)
        check(st == 200 and out == b'{"StatusCode":0}', "wait: %d %r" % (st, out))

        st, _, out, _ = r.op("kill", "POST", "/v1.41/containers/%s/kill" % cid)
        check(st == 204, "kill: %d" % st)

        st, _, out, _ = r.op("list", "GET", "/v1.41/containers/json")
        check(st == 200 and out == b'[{"Id":"%s"}]' % cid.encode(), "list: %d %r" % (st, out))

        st, _, out, _ = r.op("remove", "DELETE", "/v1.41/containers/%s" % cid)
        check(st == 204, "remove: %d" % st)
        # gone from the table: a second remove is refused without upstream bytes
        mark = mock.mark()
        st, _, out = h.call(px.listen, "DELETE", "/v1.41/containers/%s" % cid)
        check(st == 404 and not mock.since(mark), "remove twice: %d" % st)
        st, _, out, _ = r.op("list-empty", "GET", "/v1.41/containers/json")
        check(st == 200 and out == b"[]", "list after remove: %r" % out)
    finally:
        px.stop()
        mock.close()
    runsc_jail(d)
    jail_inbox(d)
    return h.summary()


if __name__ == "__main__":
    sys.exit(main())
