"""HTTP helpers for the route and contract tests: multipart bodies built the
way LibreChat's form-data builds them, chunked sending, raw requests on one
keep-alive connection, and answers read without any client-side decoding."""
import hashlib
import http.client
import json
import os
import socket
import time

FORM_BOUNDARY = "--------------------------" + "56f2f9be4ce90478c4652cad"


def multipart(parts, boundary=FORM_BOUNDARY):
    """parts: list of (name, value) for fields, (name, filename, bytes, ctype)
    for files, in order. Returns the body bytes (form-data's layout)."""
    out = []
    for p in parts:
        out.append(("--%s\r\n" % boundary).encode())
        if len(p) == 2:
            out.append(('Content-Disposition: form-data; name="%s"\r\n\r\n' % p[0]).encode())
            out.append(p[1].encode() if isinstance(p[1], str) else p[1])
        else:
            name, filename, data, ctype = p
            fn = filename.encode() if isinstance(filename, str) else filename
            out.append(b'Content-Disposition: form-data; name="' + name.encode() +
                       b'"; filename="' + fn + b'"\r\n')
            out.append(("Content-Type: %s\r\n\r\n" % ctype).encode())
            out.append(data)
        out.append(b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out)


def content_type(boundary=FORM_BOUNDARY):
    return "multipart/form-data; boundary=" + boundary


def chunks(data, size):
    for i in range(0, len(data), size):
        yield data[i:i + size]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # list of (name, value), as sent
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


class Client:
    """One keep-alive connection; reconnects only when told to."""

    def __init__(self, port, headers=None, timeout=300):
        self.port = port
        self.base = dict(headers or {})
        self.timeout = timeout
        self.c = None

    def connect(self):
        self.close()
        self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        self.c.connect()
        return self

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None

    def local_port(self):
        return self.c.sock.getsockname()[1]

    def request(self, method, path, body=None, headers=None, chunked=False):
        if self.c is None:
            self.connect()
        h = dict(self.base)
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if chunked:
            h["Transfer-Encoding"] = "chunked"
            self.c.request(method, path, body=body, headers=h, encode_chunked=True)
        else:
            self.c.request(method, path, body=body, headers=h)
        r = self.c.getresponse()
        data = r.read()
        resp = Response(r.status, r.getheaders(), data)
        if r.will_close:
            self.close()
        return resp

    def upload(self, parts, path="/v1/upload", headers=None, chunked=True, chunk=8192):
        body = multipart(parts)
        h = {"Content-Type": content_type()}
        h.update(headers or {})
        return self.request("POST", path, chunks(body, chunk) if chunked else body,
                            headers=h, chunked=chunked)

    def upload_input(self, user, name, data):
        """one file uploaded for user: its reference as /v1/exec's files take it"""
        r = self.upload([("kind", "user"), ("id", user),
                         ("file", name, data, "application/octet-stream")],
                        headers={"User-Id": user})
        if r.status != 200:
            raise AssertionError("upload %s: %r" % (name, r))
        j = r.json()
        return {"id": j["files"][0]["fileId"], "storage_session_id": j["session_id"], "name": name}


class RawConn:
    """Exact request bytes on one socket (keep-alive), answers read as sent."""

    def __init__(self, port, timeout=300):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def close(self):
        self.f.close()
        self.s.close()

    def exchange(self, data):
        self.s.sendall(data)
        return self.read_answer()

    def read_answer(self):
        f = self.f
        line = f.readline()
        parts = line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise ValueError("not an HTTP answer: %r" % line)
        status = int(parts[1])
        headers = []
        while True:
            l = f.readline()
            if l in (b"\r\n", b"\n", b""):
                break
            k, v = l.decode("latin-1").split(":", 1)
            headers.append((k.strip(), v.strip()))
        resp = Response(status, headers, b"")
        te = resp.header("Transfer-Encoding")
        cl = resp.header("Content-Length")
        if te and te.lower() == "chunked":
            body = b""
            while True:
                n = int(f.readline().split(b";")[0], 16)
                if n == 0:
                    f.readline()
                    break
                body += f.read(n)
                f.readline()
            resp.body = body
        elif cl is not None:
            resp.body = f.read(int(cl))
            if len(resp.body) != int(cl):
                raise ValueError("answer shorter than its Content-Length")
        else:
            resp.body = f.read()
        return resp


def raw_exchange(port, data, timeout=300):
    """Send exact bytes on a new connection, read one answer."""
    c = RawConn(port, timeout)
    try:
        return c.exchange(data)
    finally:
        c.close()


def big_upload(fields, filename, size, block_size=1 << 20):
    """A multipart body of 'size' random bytes made as it is sent (never held
    whole): returns (iterable of chunks, sha256 object filled as it goes)."""
    block = os.urandom(block_size)
    h = hashlib.sha256()
    # the fields, then the closing boundary line turned into the file part's
    head = multipart(fields)[:-len(b"--\r\n")]

    def body():
        yield head
        yield (b'\r\nContent-Disposition: form-data; name="file"; filename="' +
               filename.encode() + b'"\r\nContent-Type: application/octet-stream\r\n\r\n')
        for _ in range(size // block_size):
            h.update(block)
            yield block
        yield ("\r\n--%s--\r\n" % FORM_BOUNDARY).encode()

    return body(), h


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise ValueError("no VmHWM for %d" % pid)


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def is_id(s):
    import re
    return isinstance(s, str) and re.fullmatch(r"[A-Za-z0-9_-]{21}", s) is not None


def env_path(name, default):
    return os.environ.get(name, default)
