#!/usr/bin/python3
"""The live oracle (integration; needs the real dockerd, fails without it).

For each trick of sockproxy/README.md's facts: first show that it works when
sent straight to dockerd (the test makes the container and checks what inspect
reports, then removes it), then show that sockproxy refuses the same trick with a 4xx and
that nothing was created or changed. So no refusal test is vacuous."""
import io
import json
import os
import sys
import tarfile

import sp_harness as h

check = h.check


class Oracle:
    def __init__(self, px, image, inst):
        self.px, self.image = px, image
        self.direct_label = inst + "-direct"
        self.labels = '"Labels":{"codeward.instance":"%s"}' % self.direct_label
        self.hc = '"Memory":536870912,"MemorySwap":536870912,"NanoCpus":1000000000,"PidsLimit":128'
        self.inst = inst

    # ---- the daemon side ------------------------------------------------
    def direct_create(self, body, target="/v1.41/containers/create", ctype="application/json"):
        st, _, out = h.direct("POST", target, body, ctype)
        if st != 201:
            return None, "%d %s" % (st, out[:120])
        cid = json.loads(out)["Id"]
        return h.docker_inspect(cid), None

    def direct_running(self):
        ins, err = self.direct_create('{"Image":"%s","Cmd":["sleep","300"],%s}' % (self.image, self.labels))
        if ins is None:
            h.fail("direct create: " + err)
        st, _, _ = h.direct("POST", "/v1.41/containers/%s/start" % ins["Id"])
        if st != 204:
            h.fail("direct start: %d" % st)
        return ins["Id"]

    # ---- the proxy side -------------------------------------------------
    def proxy_raw(self, data):
        return h.parse_response(h.raw(self.px.listen, data))

    def proxy_create_refused(self, fact, body, target="/v1.41/containers/create",
                             ctype="application/json", headers=None):
        before = set(h.docker_ids(self.inst))
        if isinstance(body, str):
            body = body.encode()
        head = "POST %s HTTP/1.1\r\nHost: docker\r\n" % target
        for k, v in headers or [("Content-Type", ctype), ("Content-Length", str(len(body)))]:
            head += "%s: %s\r\n" % (k, v)
        st, _, out = self.proxy_raw(head.encode() + b"\r\n" + body)
        after = set(h.docker_ids(self.inst))
        check(400 <= st <= 499 and before == after,
              "%s: sockproxy refuses it (%d %s) and creates nothing" % (fact, st, out[:90]))

    def owned(self):
        st, _, out = h.call(self.px.listen, "POST", "/v1.41/containers/create",
                            h.create_body(self.image, 512 << 20, 1000000000, 128))
        if st != 201:
            h.fail("proxy create: %d %s" % (st, out))
        cid = json.loads(out)["Id"]
        st, _, _ = h.call(self.px.listen, "POST", "/v1.41/containers/%s/start" % cid)
        if st != 204:
            h.fail("proxy start: %d" % st)
        return cid


def setuid_tar():
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT) as t:
        ti = tarfile.TarInfo("suidsh")
        ti.mode, ti.uid, ti.gid, ti.size = 0o4755, 0, 0, 4
        t.addfile(ti, io.BytesIO(b"#!/\n"))
    return b.getvalue()


def main():
    h.ensure_users()
    image = h.sandbox_image()
    d = h.workdir()
    inst = h.instance_name("oracle")
    px = h.Proxy(d, h.DOCKER_SOCK, h.write_policy(d, image), inst)
    o = Oracle(px, image, inst)
    img, L, HC = image, o.labels, o.hc
    try:
        px.wait_ready()

        # F1: keys matched case-insensitively
        ins, err = o.direct_create('{"Image":"%s","Cmd":["true"],%s,"hostconfig":{"privileged":true}}' % (img, L))
        check(ins and ins["HostConfig"]["Privileged"] is True,
              "F1 dockerd: \"hostconfig\":{\"privileged\":true} makes a privileged container %s" % (err or ""))
        o.proxy_create_refused("F1", '{"Image":"%s","Cmd":["sleep","infinity"],"HostConfig":{%s,"privileged":true}}' % (img, HC))

        # F2: Unicode case folding
        ins, err = o.direct_create('{"Image":"%s","Cmd":["true"],%s,"HostConfig":{"\\u017fecurityOpt":["seccomp=unconfined"]}}' % (img, L))
        check(ins and "seccomp=unconfined" in (ins["HostConfig"]["SecurityOpt"] or []),
              "F2 dockerd: \"\\u017fecurityOpt\" sets SecurityOpt seccomp=unconfined %s" % (err or ""))
        o.proxy_create_refused("F2", '{"Image":"%s","Cmd":["sleep","infinity"],"HostConfig":{%s,"\\u017fecurityOpt":["seccomp=unconfined"]}}' % (img, HC))
        ins, err = o.direct_create('{"Image":"%s","Cmd":["true"],%s,"HostConfig":{"Networ\u212aMode":"host"}}' % (img, L))
        check(ins and ins["HostConfig"]["NetworkMode"] == "host",
              "F2 dockerd: raw UTF-8 \"Networ\u212aMode\":\"host\" gives the host network %s" % (err or ""))
        o.proxy_create_refused("F2", '{"Image":"%s","Cmd":["sleep","infinity"],"HostConfig":{%s,"Networ\u212aMode":"host"}}' % (img, HC))

        # F3: escapes decoded in keys
        ins, err = o.direct_create('{"Image":"%s","Cmd":["true"],%s,"HostConfig":{"\\u0050rivileged":true}}' % (img, L))
        check(ins and ins["HostConfig"]["Privileged"] is True,
              "F3 dockerd: \"\\u0050rivileged\":true makes a privileged container %s" % (err or ""))
        o.proxy_create_refused("F3", '{"Image":"%s","Cmd":["sleep","infinity"],"HostConfig":{%s,"\\u0050rivileged":true}}' % (img, HC))

        # F4: duplicate objects merge
        ins, err = o.direct_create('{"Image":"%s","Cmd":["true"],%s,"HostConfig":{"PidsLimit":128},"HostConfig":{"Privileged":true}}' % (img, L))
        check(ins and ins["HostConfig"]["Privileged"] is True and ins["HostConfig"]["PidsLimit"] == 128,
              "F4 dockerd: two HostConfig objects merge into a privileged one %s" % (err or ""))
        o.proxy_create_refused("F4", '{"Image":"%s","Cmd":["sleep","infinity"],"HostConfig":{%s},"HostConfig":{"Privileged":true}}' % (img, HC))

        # F5: bytes after the first value ignored
        ins, err = o.direct_create('{"Image":"%s","Cmd":["true"],%s}{"HostConfig":{"garbage' % (img, L))
        check(ins is not None, "F5 dockerd: a body with bytes after the JSON value is accepted %s" % (err or ""))
        o.proxy_create_refused("F5", '{"Image":"%s","Cmd":["sleep","infinity"],"HostConfig":{%s}}{"HostConfig":{"garbage' % (img, HC))

        # F6: legacy top-level HostConfig fields
        ins, err = o.direct_create('{"Image":"%s","Cmd":["true"],%s,"Privileged":true,"Binds":["/etc:/hostetc:ro"]}' % (img, L))
        check(ins and ins["HostConfig"]["Privileged"] is True and ins["HostConfig"]["Binds"] == ["/etc:/hostetc:ro"],
              "F6 dockerd: top-level Privileged and Binds are applied %s" % (err or ""))
        o.proxy_create_refused("F6", '{"Image":"%s","Cmd":["sleep","infinity"],"Privileged":true,"Binds":["/etc:/hostetc:ro"]}' % img)

        # F7: API 1.23 applies a start body as HostConfig
        ins, err = o.direct_create('{"Image":"%s","Cmd":["sleep","300"],%s}' % (img, L), "/v1.23/containers/create")
        if ins is not None:
            h.direct("POST", "/v1.23/containers/%s/start" % ins["Id"], '{"Privileged":true}')
            ins = h.docker_inspect(ins["Id"])
        check(ins and ins["HostConfig"]["Privileged"] is True,
              "F7 dockerd: POST /v1.23/containers/ID/start {\"Privileged\":true} makes it privileged %s" % (err or ""))
        st, _, out = h.call(px.listen, "POST", "/v1.41/containers/create", h.create_body(img))
        cid = json.loads(out)["Id"]
        st1, _, _ = o.proxy_raw(h.request("POST", "/v1.23/containers/%s/start" % cid, b'{"Privileged":true}', "application/json"))
        st2, _, _ = o.proxy_raw(h.request("POST", "/v1.41/containers/%s/start" % cid, b'{"Privileged":true}', "application/json"))
        ins = h.docker_inspect(cid)
        check(400 <= st1 < 500 and 400 <= st2 < 500 and ins["State"]["Running"] is False and
              ins["HostConfig"]["Privileged"] is False,
              "F7: sockproxy refuses a start body at /v1.23 (%d) and /v1.41 (%d); nothing started" % (st1, st2))
        h.call(px.listen, "DELETE", "/v1.41/containers/" + cid)

        # F8: loose version prefix
        ins, err = o.direct_create('{"Image":"%s","Cmd":["true"],%s}' % (img, L), "/v1.41.0/containers/create")
        check(ins is not None, "F8 dockerd: /v1.41.0/containers/create creates %s" % (err or ""))
        o.proxy_create_refused("F8", h.create_body(img), "/v1.41.0/containers/create")

        # F9: percent-decoded routing
        ins, err = o.direct_create('{"Image":"%s","Cmd":["true"],%s}' % (img, L), "/v1.41/containers/%63reate")
        check(ins is not None, "F9 dockerd: /v1.41/containers/%%63reate creates %s" % (err or ""))
        o.proxy_create_refused("F9", h.create_body(img), "/v1.41/containers/%63reate")

        # F12: chunked framing
        body = ('{"Image":"%s","Cmd":["true"],%s}' % (img, L)).encode()
        resp = h.raw(h.DOCKER_SOCK, b"POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
                     b"Connection: close\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        st, _, out = h.parse_response(resp)
        check(st == 201, "F12 dockerd: a chunked create body creates (%d)" % st)
        body = h.create_body(img).encode()
        o.proxy_create_refused("F12", b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body),
                               headers=[("Content-Type", "application/json"),
                                        ("Transfer-Encoding", "chunked")])

        # F13: content type parsed loosely
        ins, err = o.direct_create('{"Image":"%s","Cmd":["true"],%s}' % (img, L),
                                   ctype="Application/JSON; charset=x")
        check(ins is not None, "F13 dockerd: Content-Type Application/JSON; charset=x is accepted %s" % (err or ""))
        o.proxy_create_refused("F13", h.create_body(img), ctype="Application/JSON; charset=x")

        # F10: a container by id prefix
        dc = o.direct_running()
        st, _, _ = h.direct("DELETE", "/v1.41/containers/%s?force=1" % dc[:12])
        check(st == 204 and h.docker_inspect(dc) is None,
              "F10 dockerd: DELETE /containers/<12-char prefix>?force=1 removes the container (%d)" % st)
        mine = o.owned()
        st, _, out = o.proxy_raw(h.request("DELETE", "/v1.41/containers/" + mine[:12]))
        check(400 <= st < 500 and h.docker_inspect(mine) is not None,
              "F10: sockproxy refuses a prefix (%d) and the container stays" % st)

        # F14: exec privileges and user
        dc = o.direct_running()
        st, _, out = h.direct("POST", "/v1.41/containers/%s/exec" % dc,
                              '{"Cmd":["id","-u"],"AttachStdout":true,"privileged":true,"User":"0"}')
        eid = json.loads(out)["Id"]
        st, _, out = h.direct("GET", "/v1.41/exec/%s/json" % eid)
        pc = json.loads(out)["ProcessConfig"]
        check(pc["privileged"] is True and pc["user"] == "0",
              "F14 dockerd: exec \"privileged\":true,\"User\":\"0\" is recorded as privileged, root")
        st, _, out = h.direct("POST", "/v1.41/containers/%s/exec" % dc,
                              '{"Cmd":["id","-u"],"AttachStdout":true,"User":"0"}')
        eid = json.loads(out)["Id"]
        resp = h.raw(h.DOCKER_SOCK, h.request("POST", "/v1.41/exec/%s/start" % eid,
                                              b'{"Detach":false,"Tty":false}', "application/json", close=True))
        check(resp.endswith(b"\x01\0\0\0\0\0\0\x020\n"),
              "F14 dockerd: an exec with \"User\":\"0\" runs as uid 0 in a non-root container")
        for extra in ('"privileged":true', '"User":"0"', '"Privileged":true'):
            st, _, out = o.proxy_raw(h.request(
                "POST", "/v1.41/containers/%s/exec" % mine,
                ('{"Cmd":["/usr/local/bin/cw-run","py"],%s}' % extra).encode(), "application/json"))
            check(400 <= st < 500, "F14: sockproxy refuses an exec with %s (%d)" % (extra, st))

        # F15: an archive extracted as root, exactly as the tar says
        t = setuid_tar()
        st, _, _ = h.direct("PUT", "/v1.41/containers/%s/archive?path=/tmp" % dc, t, "application/x-tar")
        st2, _, out = h.direct("GET", "/v1.41/containers/%s/archive?path=/tmp/suidsh" % dc)
        info = tarfile.open(fileobj=io.BytesIO(out)).getmembers()[0] if st2 == 200 else None
        check(st == 200 and info and info.mode & 0o4000 and info.uid == 0,
              "F15 dockerd: a tar entry 04755 uid 0 is extracted setuid root (%d, %s)"
              % (st, info and oct(info.mode)))
        st, _, out = o.proxy_raw(h.request("PUT", "/v1.41/containers/%s/archive?path=/mnt/data" % mine,
                                           t, "application/x-tar"))
        check(st == 400, "F15: sockproxy refuses the same archive (%d %s)" % (st, out[:80]))

        # F16: with a read-only root, PUT works only into a volume
        st, _, out = o.proxy_raw(h.request("PUT", "/v1.41/containers/%s/archive?path=/tmp" % mine,
                                           t, "application/x-tar"))
        check(st == 403, "F16: sockproxy refuses any archive path but /mnt/data (%d)" % st)

        # F17: debug endpoints
        st, _, out = h.direct("GET", "/debug/vars")
        check(st == 200 and b"cmdline" in out, "F17 dockerd: /debug/vars answers 200 with the daemon's command line")
        st, _, _ = o.proxy_raw(h.request("GET", "/v1.41/debug/vars"))
        st2, _, _ = o.proxy_raw(h.request("GET", "/debug/vars"))
        check(st == 403 and st2 == 400, "F17: sockproxy refuses /v1.41/debug/vars (%d) and /debug/vars (%d)" % (st, st2))

        st, _, _ = h.call(px.listen, "DELETE", "/v1.41/containers/" + mine)
        check(st == 204, "the proxy's own container is removed (%d)" % st)
        check(h.docker_ids(inst) == [], "nothing of the proxy's instance is left")
    finally:
        px.stop()
        h.docker_cleanup(o.direct_label)
        h.docker_cleanup(inst)
    return h.summary()


if __name__ == "__main__":
    sys.exit(main())
