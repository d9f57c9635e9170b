"""The live channel's frames (common/frame.h) for the tests: a small client
that speaks them over any pair of byte streams (a socket through sockproxy,
or a docker exec's stdin and stdout)."""
import struct

HDR = 8
JOB, FILE, DATA, CODE, RUN, KILL = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
STDOUT, STDERR, ARCHIVE, EXIT, READY = 0x11, 0x12, 0x13, 0x14, 0x15
PIECE_MAX = 65536
REASONS = {0: "none", 1: "timeout", 2: "killed", 3: "output", 4: "failed"}


def frame(t, payload=b""):
    return struct.pack(">BBHI", t, 0, 0, len(payload)) + payload


def job_frame(lang, timeout_ms, output_max=1 << 20, archive_max=1 << 24, flags=0):
    return frame(JOB, struct.pack(">IIII", timeout_ms, output_max, archive_max, flags)
                 + lang.encode().ljust(8, b"\0"))


def job_frames(lang, code, files=(), timeout_ms=10000, **kw):
    """Every frame of one job up to RUN, as one byte string."""
    out = [job_frame(lang, timeout_ms, **kw)]
    for name, data in files:
        out.append(frame(FILE, name.encode()))
        for i in range(0, len(data), PIECE_MAX):
            out.append(frame(DATA, data[i:i + PIECE_MAX]))
    code = code.encode() if isinstance(code, str) else code
    for i in range(0, len(code), PIECE_MAX):
        out.append(frame(CODE, code[i:i + PIECE_MAX]))
    out.append(frame(RUN))
    return b"".join(out)


class Closed(Exception):
    pass


class Channel:
    """read(n) -> bytes (b"" at the end), write(bytes)."""

    def __init__(self, read, write):
        self._read, self._write = read, write
        self.buf = b""

    def _need(self, n):
        while len(self.buf) < n:
            b = self._read(1 << 16)
            if not b:
                raise Closed("channel closed after %d bytes" % len(self.buf))
            self.buf += b

    def recv(self):
        self._need(HDR)
        t, fl, rs, n = struct.unpack(">BBHI", self.buf[:HDR])
        self._need(HDR + n)
        p = self.buf[HDR:HDR + n]
        self.buf = self.buf[HDR + n:]
        return t, p, (fl, rs)

    def send(self, b):
        self._write(b)

    def hello(self):
        t, p, _ = self.recv()
        assert t == READY and p == b"", "no hello: %r" % ((t, p),)

    def run(self, lang, code, files=(), timeout_ms=10000, kill_after=None, **kw):
        """One job; returns dict(stdout, stderr, archive, code, signal, reason, ms)."""
        self.send(job_frames(lang, code, files, timeout_ms, **kw))
        res = {"stdout": b"", "stderr": b"", "archive": b"", "frames": []}
        if kill_after is not None:
            self.send(frame(KILL))
        while True:
            t, p, _ = self.recv()
            res["frames"].append(t)
            if t == STDOUT:
                res["stdout"] += p
            elif t == STDERR:
                res["stderr"] += p
            elif t == ARCHIVE:
                res["archive"] += p
            elif t == EXIT:
                c, s, r, _z, ms = struct.unpack(">BBBBI", p)
                res.update(code=c, signal=s, reason=REASONS.get(r, r), ms=ms)
            elif t == READY:
                return res
            else:
                raise AssertionError("unexpected frame type %#x" % t)


def tar_members(archive):
    """name -> bytes of the regular files of a ustar stream."""
    import io
    import tarfile
    out = {}
    if not archive:
        return out
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tf:
        for m in tf.getmembers():
            if m.isfile():
                out[m.name] = tf.extractfile(m).read()
    return out
