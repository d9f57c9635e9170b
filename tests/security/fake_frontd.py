#!/usr/bin/python3
"""A hostile (or, for the control case, well-behaved) frontd: privd starts it
with the socketpair on fd 3 and the policy on fd 4, exactly as it starts the
real one. It plays the script named by CW_FAKE_FRONTD_SCRIPT, then reads until
privd closes the connection, and writes what it saw to CW_FAKE_FRONTD_REPORT
as JSON: {"answers": [types privd sent], "eof": bool, "done": {...}}.
"""
import json
import os
import socket
import struct
import sys
import time

from cwsec import (BEGIN, DONE, FILE, HDR, IPC_EXEC_BEGIN, IPC_EXEC_DONE, IPC_EXEC_FILE,
                   IPC_EXEC_RUN, IPC_HEALTH, IPC_HEALTH_REPLY, POLICY_ID, bare, begin,
                   exec_file, recv_msg, sealed_memfd)

SCRIPT = os.environ.get("CW_FAKE_FRONTD_SCRIPT", "idle")
REPORT = os.environ["CW_FAKE_FRONTD_REPORT"]

sock = socket.socket(fileno=3)
os.close(4)
with open(os.path.join(os.path.dirname(REPORT), "fake-frontd.pid"), "w") as f:
    f.write(str(os.getpid()))

CODE = b"print(6*7)\n"


def code_fd(data=CODE):
    return sealed_memfd(data, "cw-code")


def send(msg, fds=()):
    if fds:
        socket.send_fds(sock, [msg], list(fds))
    else:
        sock.send(msg)


def good_begin(ident=7, nfiles=0, **kw):
    return begin(ident, lang=b"py", user=b"u1", code_len=len(CODE), nfiles=nfiles, **kw)


def a_file(size=5):
    path = os.path.join(os.path.dirname(REPORT), "input-%d" % size)
    with open(path, "wb") as f:
        f.write(b"x" * size)
    return os.open(path, os.O_RDONLY)


def opath_file():
    os.close(a_file(5))
    return os.open(os.path.join(os.path.dirname(REPORT), "input-5"), os.O_PATH)


def unsealed():
    fd = os.memfd_create("cw-code", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, CODE)
    return fd


# Each script: a list of (message bytes, fds) to send, built lazily.
def scripts():
    c = code_fd
    return {
        "idle": lambda: [],
        "control": lambda: [(good_begin(), [c()]), (bare(IPC_EXEC_RUN, 7), [])],
        "health": lambda: [(bare(IPC_HEALTH, 3), [])],
        # sizes
        "short": lambda: [(b"\x04\0\0\0\x10\0\0\0\x01\0\0\0\0\0\0", [])],
        "long": lambda: [(good_begin() + b"\0", [c()])],
        "huge": lambda: [(good_begin() + b"\0" * 4000, [c()])],
        "header-len": lambda: [(begin(7, b"py", b"u1", len(CODE), size=4215), [c()])],
        "run-padded": lambda: [(bare(IPC_HEALTH, 3) + b"\0" * 8, [])],
        "empty": lambda: [(b"", [])],
        # types
        "unknown-type": lambda: [(bare(99, 1), [])],
        "reply-type": lambda: [(DONE.pack(IPC_EXEC_DONE, DONE.size, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, b"", 0, 0, POLICY_ID), [])],
        "health-reply-type": lambda: [(struct.pack("<IIIIII", IPC_HEALTH_REPLY, 24, 1, 0, 1, 0), [])],
        # privd's own POLICY (a reload's), well formed, with its memfd
        "policy-type": lambda: [(struct.pack("<IIIIQ72s", 68, 96, 1, 0, 5, POLICY_ID),
                                 [sealed_memfd(b"#x\n\n\n", "cw-policy")])],
        # states
        "file-when-idle": lambda: [(exec_file(7, b"a.txt", 5), [a_file()])],
        "run-when-idle": lambda: [(bare(IPC_EXEC_RUN, 7), [])],
        "begin-twice": lambda: [(good_begin(), [c()]), (good_begin(), [c()])],
        "health-while-building": lambda: [(good_begin(), [c()]), (bare(IPC_HEALTH, 8), [])],
        "id-switch": lambda: [(good_begin(7), [c()]), (bare(IPC_EXEC_RUN, 8), [])],
        "more-files": lambda: [(good_begin(nfiles=0), [c()]), (exec_file(7, b"a", 5), [a_file()])],
        "missing-files": lambda: [(good_begin(nfiles=1), [c()]), (bare(IPC_EXEC_RUN, 7), [])],
        # fields
        "id-zero": lambda: [(bare(IPC_HEALTH, 0), [])],
        "reserved": lambda: [(HDR.pack(IPC_HEALTH, 16, 3, 1), [])],
        "unterminated-lang": lambda: [(begin(7, b"pypypypy", b"u1", len(CODE)), [c()])],
        "unterminated-user": lambda: [(begin(7, b"py", b"u" * 64, len(CODE)), [c()])],
        "unterminated-args": lambda: [(good_begin(argc=1, args=b"abc"), [c()])],
        "unterminated-name": lambda: [(good_begin(nfiles=1), [c()]),
                                      (exec_file(7, b"n" * 256, 5), [a_file()])],
        "bytes-after-nul": lambda: [(begin(7, b"py\0x", b"u1", len(CODE)), [c()])],
        "lang-class": lambda: [(begin(7, b"Py", b"u1", len(CODE)), [c()])],
        "user-class": lambda: [(begin(7, b"py", b"u 1", len(CODE)), [c()])],
        "unknown-opts": lambda: [(good_begin(opts=0x80), [c()])],
        "begin-reserved": lambda: [(good_begin(reserved=1), [c()])],
        "argc-mismatch": lambda: [(good_begin(argc=2, args=b"a\0"), [c()])],
        "args-not-utf8": lambda: [(good_begin(argc=1, args=b"\xff\0"), [c()])],
        "name-dotdot": lambda: [(good_begin(nfiles=1), [c()]),
                                (exec_file(7, b"../etc/passwd", 5), [a_file()])],
        "name-absolute": lambda: [(good_begin(nfiles=1), [c()]),
                                  (exec_file(7, b"/etc/passwd", 5), [a_file()])],
        # descriptors
        "fd-on-run": lambda: [(good_begin(), [c()]), (bare(IPC_EXEC_RUN, 7), [c()])],
        "fd-on-health": lambda: [(bare(IPC_HEALTH, 3), [c()])],
        "begin-without-fd": lambda: [(good_begin(), [])],
        "begin-two-fds": lambda: [(good_begin(), [c(), c()])],
        "many-fds": lambda: [(good_begin(), [c(), c(), c(), c()])],
        "unsealed-code": lambda: [(good_begin(), [unsealed()])],
        "code-size-lie": lambda: [(begin(7, b"py", b"u1", len(CODE) + 1), [c()])],
        "socket-as-code": lambda: [(good_begin(), [socket.socket().detach()])],
        "writable-file": lambda: [(good_begin(nfiles=1), [c()]),
                                  (exec_file(7, b"a.txt", 5),
                                   [os.open(os.path.join(os.path.dirname(REPORT), "input-5"),
                                            os.O_RDWR | os.O_CREAT)])],
        "dir-as-file": lambda: [(good_begin(nfiles=1), [c()]),
                                (exec_file(7, b"a.txt", 4096), [os.open("/", os.O_RDONLY)])],
        "opath-file": lambda: [(good_begin(nfiles=1), [c()]),
                               (exec_file(7, b"a.txt", 5), [opath_file()])],
        "file-size-lie": lambda: [(good_begin(nfiles=1), [c()]),
                                  (exec_file(7, b"a.txt", 6), [a_file(5)])],
    }


def main():
    report = {"script": SCRIPT, "answers": [], "eof": False, "sent": 0, "error": None}
    steps = scripts()[SCRIPT]()
    try:
        for msg, fds in steps:
            send(msg, fds)
            for fd in fds:
                os.close(fd)
            report["sent"] += 1
    except OSError as e:
        report["error"] = "send: %s" % e
    # read until privd ends the connection (or, for idle, forever)
    sock.settimeout(None if SCRIPT == "idle" else 60)
    try:
        while True:
            data, fds = recv_msg(sock)
            for fd in fds:
                os.close(fd)
            if not data:
                report["eof"] = True
                break
            t, _, ident, _ = HDR.unpack_from(data)
            report["answers"].append(t)
            if t == IPC_EXEC_DONE:
                f = DONE.unpack(data)
                report["done"] = {"id": ident, "status": f[4], "exit_code": f[6],
                                  "fds": f[7], "message": f[12].rstrip(b"\0").decode(),
                                  "session": f[14]}
                if SCRIPT == "control":
                    break
            if t == IPC_HEALTH_REPLY and SCRIPT == "health":
                break
    except socket.timeout:
        report["error"] = "privd neither answered nor closed within 60 s"
    except OSError as e:
        report["error"] = "recv: %s" % e
    with open(REPORT + ".tmp", "w") as f:
        json.dump(report, f)
    os.rename(REPORT + ".tmp", REPORT)
    if SCRIPT in ("control", "health"):
        # stay connected until privd closes, like the real frontd
        try:
            while True:
                data, fds = recv_msg(sock)
                if not data:
                    break
        except OSError:
            pass


if __name__ == "__main__":
    main()
