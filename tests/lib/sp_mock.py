"""A recording mock of dockerd for the sockproxy tests.

It listens on a unix socket (group codeward-priv, 0660, so the dropped
sockproxy can connect through its one supplementary group), records every
byte of every request it receives, and answers like Docker Engine 20.10 does
for the operations sockproxy may perform. 'lie' makes it misreport:
  "privileged"       container inspect says HostConfig.Privileged true
  "exec-privileged"  exec inspect says ProcessConfig.privileged true
  "privileged-later" only the second inspect (before start) says so
  "stream-garbage"   exec start answers with a frame of type 3
  "flood"            exec start answers with 200000 bytes of stdout
  "tar-device"       the archive holds a character device
  "tar-symlink"      the archive holds a symbolic link and a FIFO
'create_delay' (seconds) makes each container create that slow, so creates
sent together overlap at sockproxy.
"""
import hashlib
import io
import base64
import json
import os
import socket
import tarfile
import threading
import time

import sp_harness as h
from sp_harness import FAKE_IMAGE, gid


# what the daemon's HEAD of /mnt/data reports (its shape on Debian's 20.10)
MOCK_STAT = {"name": "data", "size": 40, "mode": 2147484096,
             "mtime": "2026-11-22T00:00:00.123456789Z", "linkTarget": ""}


CHANNEL_HELLO = b"\x15\0\0\0\0\0\0\0"     # the agent's READY (common/frame.h)


def _id(kind, n):
    return hashlib.sha256(("%s-%d" % (kind, n)).encode()).hexdigest()


def frame(t, data):
    return bytes([t, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def data_tar(extra=None):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in (("data/", None), ("data/out.txt", b"hello\n")):
            ti = tarfile.TarInfo(name.rstrip("/"))
            ti.uid = ti.gid = 10001
            ti.mtime = 1700000000
            if data is None:
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o700
                t.addfile(ti)
            else:
                ti.mode = 0o644
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
        for ti in extra or []:
            t.addfile(ti)
    raw = b.getvalue()
    # Go's writer: no record padding, just the two zero blocks
    end = len(raw)
    while raw[end - 512:end] == b"\0" * 512:
        end -= 512
    return raw[:end] + b"\0" * 1024


class Mock:
    def __init__(self, path, image=FAKE_IMAGE, lie=None, create_delay=0):
        self.path = path
        self.image = image
        self.lie = lie
        self.create_delay = create_delay
        self.lock = threading.Lock()
        self.requests = []      # raw bytes of each request, in arrival order
        self.containers = {}
        self.execs = {}
        self.inspects = {}
        self.active = 0
        self.n = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chown(path, 0, gid("codeward-priv"))
        os.chmod(path, 0o660)
        self.sock.listen(64)
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def close(self):
        self.sock.close()

    def total_bytes(self):
        with self.lock:
            return sum(len(r) for r in self.requests)

    def wait_idle(self, timeout=10):
        """until every connection accepted so far has been recorded whole"""
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if self.active == 0:
                    return
            time.sleep(0.01)
        raise AssertionError("mock: connections still open")

    def mark(self):
        self.wait_idle()
        with self.lock:
            return len(self.requests), sum(len(r) for r in self.requests)

    def since(self, mark):
        self.wait_idle()
        with self.lock:
            return self.requests[mark[0]:]

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.active += 1
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    @staticmethod
    def _recv(c):
        try:
            return c.recv(65536)
        except OSError:
            return b""

    def _read_request(self, c, rec):
        buf = b""
        while b"\r\n\r\n" not in buf:
            x = self._recv(c)
            if not x:
                rec.append(buf)
                return None
            buf += x
        head, _, body = buf.partition(b"\r\n\r\n")
        clen = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                clen = int(v)
        while len(body) < clen:
            x = self._recv(c)
            if not x:
                break
            body += x
        rec.append(head + b"\r\n\r\n" + body)
        return head.decode("latin-1"), body

    def _conn(self, c):
        rec = []
        with self.lock:
            self.requests.append(b"")
            idx = len(self.requests) - 1
        try:
            try:
                r = self._read_request(c, rec)
            finally:
                with self.lock:
                    self.requests[idx] = rec[0] if rec else b""
            if r is None:
                return
            line = r[0].split("\r\n")[0]
            method, target, _ = line.split(" ")
            c.sendall(self._answer(method, target, r[1]))
        except OSError:
            pass
        finally:
            c.close()
            with self.lock:
                self.active -= 1

    @staticmethod
    def _json(status, obj, reason="OK"):
        b = json.dumps(obj).encode()
        return (b"HTTP/1.1 %d %s\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (status, reason.encode(), len(b))) + b

    @staticmethod
    def _empty(status):
        return b"HTTP/1.1 %d X\r\nApi-Version: 1.41\r\n\r\n" % status

    def _inspect(self, cid):
        body = self.containers[cid]
        hc = {"Binds": None, "NetworkMode": "default", "Privileged": False,
              "Runtime": "runc", "CapAdd": None, "PidMode": "", "UsernsMode": "",
              "MaskedPaths": ["/proc/kcore"], "ReadonlyPaths": ["/proc/sys"],
              "DeviceRequests": None, "OomKillDisable": False, "Isolation": ""}
        hc.update(body.get("HostConfig", {}))
        self.inspects[cid] = self.inspects.get(cid, 0) + 1
        if self.lie == "privileged" or (self.lie == "privileged-later" and
                                        self.inspects[cid] > 1):
            hc["Privileged"] = True
        cfg = {"User": body.get("User", ""), "WorkingDir": body.get("WorkingDir", ""),
               "Image": body["Image"], "Cmd": body.get("Cmd"), "Tty": False,
               "OpenStdin": False, "AttachStdin": False, "Volumes": None,
               "Env": ["PATH=/usr/bin"] + body.get("Env", []),
               "Labels": body.get("Labels", {})}
        return {"Id": cid, "Image": body["Image"], "Config": cfg, "HostConfig": hc,
                "State": {"Running": False},
                "Mounts": [{"Type": "volume", "Name": "v" * 64, "Destination": m.get("Target"),
                            "Driver": "local", "RW": True} if m.get("Type", "volume") == "volume" else
                           {"Type": m["Type"], "Source": m.get("Source"), "Destination": m.get("Target"),
                            "Mode": "", "RW": not m.get("ReadOnly"),
                            "Propagation": "rshared" if self.lie == "propagation" else "rprivate"}
                           for m in hc.get("Mounts") or [{"Target": "/mnt/data"}]]}

    def _answer(self, method, target, body):
        p = target.split("?")[0]
        parts = p.split("/")
        if not p.startswith("/v1.41/"):
            return self._json(404, {"message": "page not found"})
        if method == "POST" and p == "/v1.41/containers/create":
            time.sleep(self.create_delay)   # outside the lock: creates overlap
        with self.lock:
            if method == "GET" and p == "/v1.41/images/%s/json" % self.image:
                return self._json(200, {"Id": self.image})
            if method == "GET" and p == "/v1.41/containers/json":
                return self._json(200, [{"Id": k, "Labels": v.get("Labels", {})}
                                        for k, v in self.containers.items()])
            if method == "POST" and p == "/v1.41/containers/create":
                self.n += 1
                cid = _id("container", self.n)
                self.containers[cid] = json.loads(body)
                return self._json(201, {"Id": cid, "Warnings": []}, "Created")
            if len(parts) >= 4 and parts[2] == "containers":
                cid = parts[3]
                if cid not in self.containers:
                    return self._json(404, {"message": "No such container: " + cid})
                tail = "/".join(parts[4:])
                if method == "GET" and tail == "json":
                    return self._json(200, self._inspect(cid))
                if method in ("POST",) and tail in ("start", "kill"):
                    return self._empty(204)
                if method == "DELETE" and tail == "":
                    del self.containers[cid]
                    return self._empty(204)
                if method == "PUT" and tail == "archive":
                    return self._empty(200)
                if method == "HEAD" and tail == "archive":
                    stat = base64.b64encode(json.dumps(MOCK_STAT).encode())
                    return (b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\n"
                            b"X-Docker-Container-Path-Stat: %s\r\n\r\n" % stat)
                if method == "GET" and tail == "archive":
                    extra = []
                    if self.lie == "tar-device":
                        ti = tarfile.TarInfo("data/null")
                        ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
                        extra.append(ti)
                    if self.lie == "tar-symlink":
                        ti = tarfile.TarInfo("data/link")
                        ti.type, ti.linkname = tarfile.SYMTYPE, "/etc/shadow"
                        extra.append(ti)
                        ti = tarfile.TarInfo("data/fifo")
                        ti.type = tarfile.FIFOTYPE
                        extra.append(ti)
                    t = data_tar(extra)
                    chunks = b"%x\r\n%s\r\n0\r\n\r\n" % (len(t), t)
                    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
                if method == "POST" and tail == "exec":
                    self.n += 1
                    eid = _id("exec", self.n)
                    self.execs[eid] = {"cid": cid, "body": json.loads(body), "state": 0}
                    return self._json(201, {"Id": eid}, "Created")
                if method == "POST" and tail == "wait":
                    return self._json(200, {"StatusCode": 0, "Error": None})
            if len(parts) == 5 and parts[2] == "exec" and parts[3] in self.execs:
                e = self.execs[parts[3]]
                if method == "GET" and parts[4] == "json":
                    b = e["body"]
                    return self._json(200, {
                        "ID": parts[3], "Running": e["state"] == 1,
                        "ExitCode": 3 if e["state"] == 2 else None,
                        "ProcessConfig": {"tty": False, "entrypoint": b["Cmd"][0],
                                          "arguments": b["Cmd"][1:],
                                          "privileged": self.lie == "exec-privileged" or b.get("Privileged", False),
                                          "user": b.get("User", "")},
                        "OpenStdin": b.get("AttachStdin", False),
                        "OpenStderr": True, "OpenStdout": True,
                        "ContainerID": e["cid"], "Pid": 0})
                if method == "POST" and parts[4] == "start":
                    e["state"] = 2
                    if e["body"].get("AttachStdin"):
                        # the agent's channel, hijacked: its hello, then the end
                        return (b"HTTP/1.1 101 UPGRADED\r\nContent-Type: "
                                b"application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\n"
                                b"Upgrade: tcp\r\nApi-Version: 1.41\r\n\r\n" +
                                frame(1, CHANNEL_HELLO))
                    if self.lie == "flood":
                        out = b"".join(frame(1, b"y" * 20000) for _ in range(10))
                    elif self.lie == "stream-garbage":
                        out = frame(1, b"ok\n") + bytes([3, 0, 0, 0, 0, 0, 0, 1]) + b"x"
                    else:
                        out = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"more\n")
                    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                            b"Api-Version: 1.41\r\n\r\n" + out)
        return self._json(404, {"message": "mock: no route %s %s" % (method, target)})


def mock_proxy(tag, lie=None, edits=None, create_delay=0):
    """A mock daemon and a sockproxy in front of it, under the default
    policy (with 'edits') pinned to the fake image: (mock, proxy)."""
    d = h.workdir()
    mock = Mock(os.path.join(d, "docker.sock"), lie=lie, create_delay=create_delay)
    policy = h.write_policy(d, FAKE_IMAGE, edits)
    px = h.Proxy(d, mock.path, policy, h.instance_name(tag))
    px.wait_ready()
    return mock, px
