#!/usr/bin/python3
"""Writes the seed corpora of the four fuzz targets (fuzz/<target>/). Run it
after a change here; a fuzzing session adds its own finds to the same
folders (see sockproxy/README.md)."""
import hashlib
import json
import os

import gen_refusals as g

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, items):
    d = os.path.join(HERE, "fuzz", target)
    os.makedirs(d, exist_ok=True)
    for data in items:
        name = hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    g.build()
    heads, bodies = [], []
    for data in g.corpus.values():
        head, sep, body = data.partition(b"\r\n\r\n")
        heads.append(head + sep if sep else data)
        if body.startswith(b"{") or body.startswith(b"["):
            bodies.append(body)
    cid = "0123456789abcdef" * 4
    for m, t in (("POST", "/v1.41/containers/%s/start" % cid),
                 ("GET", "/v1.41/containers/%s/archive?path=/mnt/data" % cid),
                 ("GET", "/v1.41/containers/json"), ("DELETE", "/v1.41/containers/" + cid)):
        heads.append(g.req(m, t))
    heads.append(g.req("POST", "/v1.41/containers/create", "{}").partition(b"\r\n\r\n")[0] + b"\r\n\r\n")
    write("http", heads)

    img = "sha256:" + "ab" * 32
    bodies += [json.dumps(b, separators=(",", ":")).encode() for b in (
        {"Image": img, "Cmd": ["sleep", "infinity"], "HostConfig": g.hc()},
        {"Image": img, "Cmd": ["x"], "Env": ["A=1"], "HostConfig": dict(g.hc(), NetworkMode="cwnet",
         DeviceRequests=[{"Driver": "nvidia", "Count": 2, "Capabilities": [["gpu"]]}])},
        {"Cmd": ["/usr/local/bin/cw-run", "py", "a\"b"], "Env": ["CW_LANG=py"]},
        {"Cmd": ["/usr/local/bin/cw-run", "py", "\u00e9\U0001f600"]},
    )]
    write("json", bodies)

    tars = []
    for name, data in g.corpus.items():
        if "-tar-" in name:
            body = data.partition(b"\r\n\r\n")[2]
            tars.append(b"\x01\x49" + body)
    ok = g.tar(g.tar_header(".codeward/", b"5", mode=0o755), g.ok_file(".codeward/code", b"print(1)\n"))
    tars.append(b"\x01\x49" + ok)
    tars.append(b"\x01\x00" + ok)
    get = g.tar(g.tar_header("data/", b"5", mode=0o40700),
                g.ok_file("data/out.txt", b"hi\n", mode=0o100644),
                g.tar_header("data/l", b"2", mode=0o120777, linkname=b"x"))
    tars.append(b"\x00\x49" + get)
    rec = b"path=data/" + b"n" * 120 + b"\n"
    rec = b"%d " % (len(rec) + 4) + rec
    tars.append(b"\x00\x02" + g.tar(g.tar_header("data/", b"5", mode=0o40700),
                                    g.tar_header("data/PaxHeaders.0/n", b"x", size=len(rec)) + g.pad(rec),
                                    g.ok_file("data/nnn", b"x", mode=0o100644)))
    write("tar", tars)

    def frame(t, d):
        return bytes([t, 0, 0, 0]) + len(d).to_bytes(4, "big") + d
    write("mux", [
        b"\x10\x03" + frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b""),
        b"\x01\x00" + frame(1, b"a" * 40) + frame(2, b"b" * 40),
        b"\xff\x07" + frame(2, b"x") + bytes([3, 0, 0, 0, 0, 0, 0, 1]) + b"y",
        b"\x08\x01" + frame(1, b"abc")[:6],
    ])


if __name__ == "__main__":
    main()
