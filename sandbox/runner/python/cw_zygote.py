"""codeward: a pre-warmed Python interpreter for one sandbox.

Started by cw-idle while the sandbox waits in privd's warm pool, it imports
the data stack ahead of time and then listens on a unix socket in /tmp. For a
run, cw-zrun sends the script path and arguments with its stdin, stdout and
stderr; the zygote forks, and the child becomes the program: fresh __main__,
the script's sys.argv and sys.path[0], the caller's stdio, /mnt/data as the
working directory. The parent reports the child's exit status back and waits
for the next run. Sandbox-side code: it has no privilege the program lacks.
"""
import array
import os
import signal
import socket
import sys
import traceback
import types

SOCK_DIR = "/tmp/.codeward-zygote"
SOCK = SOCK_DIR + "/sock"
REQ_MAX = 65536


def preload():
    # What a data program imports first; each import a run no longer pays for.
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (sitecustomize installs its hooks)


def recv_fds(conn, size, nfds):
    """One message and the descriptors sent with it (also cw_session.py's):
    (data, fds, truncated); a message with another count of them is
    truncated, its descriptors closed."""
    fds = array.array("i")
    data, anc, flags, _ = conn.recvmsg(size, socket.CMSG_SPACE(nfds * fds.itemsize))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    fds = list(fds)
    bad = len(fds) != nfds or flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC)
    if bad:
        for fd in fds:
            os.close(fd)
        fds = []
    return data, fds, bool(bad)


def recv_request(conn):
    data, fds, bad = recv_fds(conn, REQ_MAX, 3)
    if bad or not data.endswith(b"\0"):
        for fd in fds:
            os.close(fd)
        raise ValueError("bad request")
    words = [os.fsdecode(w) for w in data[:-1].split(b"\0")]
    return words, fds


def exec_program(source, path, namespace):
    """Run a program's text in namespace as python3 runs a script: its exit
    code, its error's traceback on stderr (also cw_session.py's calls)."""
    try:
        exec(compile(source, path, "exec"), namespace)
        return 0
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code & 0xff
        print(e.code, file=sys.stderr)
        return 1
    except BaseException as e:  # the program's own error, as python3 prints it
        tb = e.__traceback__.tb_next if e.__traceback__ else None
        traceback.print_exception(type(e), e, tb)
        return 1


def run_child(words, fds, listener, conn):
    """In the forked child: become the program. Never returns."""
    code = 1
    try:
        listener.close()
        conn.close()
        for i, fd in enumerate(fds):
            os.dup2(fd, i)
            os.close(fd)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        code = run_script(words)
    finally:
        os._exit(code)


def run_script(words):
    """This process becomes `python3 SCRIPT ARGS...` in /mnt/data, its
    shutdown included (also cw_jzygote.py's jailed child): its status."""
    os.chdir("/mnt/data")
    script = words[0]
    sys.argv = list(words)
    sys.path[0] = os.path.dirname(script)
    main = types.ModuleType("__main__")
    main.__file__ = script
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    with open(script, "rb") as f:
        source = f.read()
    code = exec_program(source, script, main.__dict__)
    # what interpreter shutdown does: exit handlers, then flush
    try:
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    return code


def serve(listener):
    while True:
        conn, _ = listener.accept()
        try:
            words, fds = recv_request(conn)
        except (OSError, ValueError):
            conn.close()
            continue
        pid = os.fork()
        if pid == 0:
            run_child(words, fds, listener, conn)
        # the parent lets go of the program's stdio at once, so the run's
        # output stream ends when the program ends
        for fd in fds:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        if os.WIFEXITED(status):
            rc = os.WEXITSTATUS(status)
        else:
            rc = -os.WTERMSIG(status)
        try:
            conn.sendall(rc.to_bytes(4, sys.byteorder, signed=True))
        except OSError:
            pass
        conn.close()


def main():
    preload()
    os.makedirs(SOCK_DIR, mode=0o700, exist_ok=True)
    tmp = SOCK + ".new"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(tmp)
    listener.listen(4)
    # ready only once everything is imported: cw-zrun falls back until then
    os.rename(tmp, SOCK)
    serve(listener)


if __name__ == "__main__":
    main()
