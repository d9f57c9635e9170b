#!/usr/bin/python3
"""A full lifecycle through sockproxy on the real dockerd (integration; fails
without Docker), driven by privd's own client (sp_client, linking
privd/docker.c and privd/tarw.c): create, start, archive PUT, exec with
output on both streams, exit code, archive GET, kill, remove; then the same
with a program that outlives its deadline, so the client closes the stream
early and sockproxy must close upstream at once. What dockerd built is
checked directly, and nothing may be left behind: no container, no volume."""
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import time

import sp_harness as h

check = h.check


def frames(data):
    out = {1: b"", 2: b""}
    i = 0
    while i + 8 <= len(data):
        n = int.from_bytes(data[i + 4:i + 8], "big")
        out[data[i]] += data[i + 8:i + 8 + n]
        i += 8 + n
    return out, i == len(data)


def main():
    h.ensure_users()
    image = h.sandbox_image()
    client = os.environ.get("CW_SP_CLIENT", os.path.join(h.BUILD, "tests", "sockproxy", "sp_client"))
    d = h.workdir()
    inst = h.instance_name("life")
    policy = h.write_policy(d, image)
    px = h.Proxy(d, h.DOCKER_SOCK, policy, inst)
    volumes = []
    try:
        px.wait_ready()
        out, tar_path = os.path.join(d, "out"), os.path.join(d, "tar")
        p = subprocess.Popen([client, policy, px.listen, out, tar_path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cid = p.stdout.readline().split()[-1]
        # what the daemon built, seen from outside, while the run goes on
        ins = h.docker_inspect(cid)
        if ins:
            hc = ins["HostConfig"]
            volumes = [m["Name"] for m in ins["Mounts"]]
            check(hc["CapDrop"] == ["ALL"] and hc["SecurityOpt"] == ["no-new-privileges"] and
                  hc["ReadonlyRootfs"] and hc["NetworkMode"] == "none" and not hc["Privileged"] and
                  hc["IpcMode"] == "private" and hc["CgroupnsMode"] == "private" and hc["Init"],
                  "dockerd built the forced HostConfig")
            check(ins["Config"]["User"] == "10001:10001" and ins["Config"]["Labels"]["codeward.instance"] == inst,
                  "non-root user, instance label")
        rest, err = p.communicate(timeout=120)
        print(rest, err)
        check(p.returncode == 0, "privd's client ran the whole lifecycle through sockproxy (%s)" % err.strip())
        data = open(out, "rb").read()
        streams, whole = frames(data)
        check(whole, "the output is whole 8-byte-header frames")
        so, se = streams[1].decode(), streams[2].decode()
        check("out: hello" in so and "err: warning" in se, "output on both streams")
        check("uid 10001 10001" in so, "the program ran as 10001:10001")
        check("\n0000000000000000\n" in so, "with no capability (CapEff 0)")
        check("nosuid" in so and "nodev" in so and "tmpfs" in so, "/mnt/data is a nosuid,nodev tmpfs")
        check("input a,b" in so, "the uploaded input file was there")
        t = tarfile.open(fileobj=io.BytesIO(open(tar_path, "rb").read()))
        names = {m.name: m for m in t.getmembers()}
        check("data/result.txt" in names and t.extractfile(names["data/result.txt"]).read() == b"42\n",
              "the archive holds the file the program wrote")
        check("data/sub/in.csv" in names and not any(".codeward" in n for n in names),
              "and the input, but not the program text")

        # a program that outlives its deadline: the client hangs up
        p = subprocess.run([client, policy, px.listen, out, tar_path, "sleep"],
                           capture_output=True, text=True, timeout=120)
        print(p.stdout, p.stderr)
        check(p.returncode == 0, "deadline: the client ends the stream, kills and removes (%s)"
              % p.stderr.strip())
        time.sleep(0.5)
        check("client went away; stream closed" in px.logtext(),
              "sockproxy closed the upstream stream when the client went away")
        # wait is long but cancellable: a client that hangs up ends it
        cid = h.proxy_create(px.listen, image)
        st, _, _ = h.call(px.listen, "POST", "/v1.41/containers/%s/start" % cid)
        c = socket.socket(socket.AF_UNIX)
        c.connect(px.listen)
        c.sendall(h.request("POST", "/v1.41/containers/%s/wait" % cid))
        time.sleep(0.5)
        c.close()
        time.sleep(1)
        check("wait %s: client went away" % cid in px.logtext(),
              "a wait ends when its client hangs up (the container still runs)")
        st, _, _ = h.call(px.listen, "POST", "/v1.41/containers/%s/kill" % cid)
        st2, _, out = h.call(px.listen, "POST", "/v1.41/containers/%s/wait" % cid)
        check(st == 204 and st2 == 200 and out == b'{"StatusCode":137}',
              "after a kill, wait answers the exit status (%d %d %r)" % (st, st2, out))
        st, _, _ = h.call(px.listen, "DELETE", "/v1.41/containers/" + cid)
        check(h.docker_ids(inst) == [], "no container of this instance is left")
        for v in volumes:
            r = subprocess.run([h.DOCKER, "volume", "inspect", v], capture_output=True)
            check(r.returncode != 0, "the anonymous work volume %s.. is gone" % v[:12])
        check(volumes != [], "the container had its work volume")
    finally:
        px.stop()
        h.docker_cleanup(inst)
    return h.summary()


if __name__ == "__main__":
    sys.exit(main())
