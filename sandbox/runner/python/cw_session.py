"""codeward: the server of a session's jail (issue 15).

codeward-agent starts it once per session, through `cw-run --session`, as
the sandbox user inside the session's jail, with its fd 0 a SOCK_SEQPACKET
socket to the agent. Each message there is one call: "LANG TIMEOUT_MS" with
the call's stdout and stderr as two descriptors; the program text is at
/mnt/data/.codeward/code and the request's args, when it has any, each
NUL-terminated, at /mnt/data/.codeward/args (the agent writes both). A py call runs in this process, in the session's
one __main__, so its variables, imports and functions are there for the
next call; any other language runs as `cw-run LANG`, a fresh program in the
same jail. Each call is answered with one 4-byte status: the exit code, or
-N for a signal N. A py call's error prints its traceback to stderr and
answers 1, as `python3 main.py` would exit.

What a session keeps is /mnt/data and this interpreter, nothing else: after
each call, before its status, this server kills every other process of the
jail (it runs in the jail's own pid namespace, whose init reaps what it
kills) and empties /tmp and /dev/shm, so the next call finds fresh processes
and /tmp as the jail began. A call's source stays in linecache (never in a
file), so a function it defined shows its lines in a later call's traceback.
When the jail cannot be made so, the server answers and exits: the jail
ends with it, and the next call starts a fresh one on the same /mnt/data.

Sandbox-side code: the program of a call runs with everything this server
has (it is this process) and can write to the socket too; the agent reads
nothing from it but that fixed-size status, so a forged one fools only the
session that forged it.
"""
import io
import linecache
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import tokenize
import types

from cw_zygote import exec_program, recv_fds

CODE = "/mnt/data/.codeward/code"
ARGS = "/mnt/data/.codeward/args"
REQ_MAX = 256
SCRATCH = ("/tmp", "/dev/shm")	# emptied after each call
MPL = "/usr/local/lib/codeward/mpl"	# the font list python-env copies in
KILL_MS = 2000			# the jail's other processes gone by then


def recv_call(ctl):
    data, fds, bad = recv_fds(ctl, REQ_MAX, 2)
    if not data and not fds:
        sys.exit(0)			# the agent has gone
    words = data.decode("ascii", "replace").split()
    if bad or len(words) != 2 or not words[1].isdigit():
        for fd in fds:
            os.close(fd)
        return None
    return words[0], int(words[1]), fds


def take_args():
    """the call's args (its file removed), or none"""
    try:
        with open(ARGS, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return []
    os.unlink(ARGS)
    return [a.decode("utf-8", "surrogateescape") for a in raw.split(b"\0")[:-1]]


def take_code():
    with open(CODE, "rb") as f:
        code = f.read()
    os.unlink(CODE)
    try:
        os.rmdir(os.path.dirname(CODE))
    except OSError:
        pass
    return code


def flush():
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


def save_figures():
    # what a program's exit does with open matplotlib figures (sitecustomize)
    if "matplotlib.pyplot" not in sys.modules:
        return
    try:
        import sitecustomize
        sitecustomize._save_open_figures(close=True)
    except Exception as e:
        print("codeward: figures not saved: %s" % e, file=sys.stderr)


def remember(name, source):
    """the call's lines for tracebacks, now and in later calls (an entry
    without an mtime is never checked against a file)"""
    try:
        enc, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = source.decode(enc, "replace")
    except (SyntaxError, LookupError):
        text = source.decode("utf-8", "replace")
    linecache.cache[name] = (len(source), None, text.splitlines(True), name)


def run_py(main, seq, fds):
    """One call in this process, its stdio on the call's pipes."""
    name = "<call %d>" % seq
    try:
        args = take_args()
        source = take_code()
        remember(name, source)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    flush()
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    for fd in fds:
        os.close(fd)
    sys.argv = [name] + args
    code = exec_program(source, name, main.__dict__)
    save_figures()
    flush()
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    return code


def other_env(lang, timeout_ms):
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "CW_LANG": lang,
            "CW_TIMEOUT_MS": str(timeout_ms)}


def run_other(lang, timeout_ms, fds):
    try:
        args = take_args()
        p = subprocess.Popen(["/usr/local/bin/cw-run", lang] + args, stdin=subprocess.DEVNULL,
                             stdout=fds[0], stderr=fds[1], cwd="/mnt/data",
                             env=other_env(lang, timeout_ms))
    finally:
        for fd in fds:
            os.close(fd)
    return p.wait()


def reap():
    """this server's children that have ended"""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def end_processes():
    """Every process of the jail but this one and its init: kill(-1) spares
    only those two in the jail's pid namespace and reaches nothing outside
    it. A fork racing a round dies with it; what this server started is
    reaped here, the rest by the init. True once none is left."""
    deadline = time.monotonic() + KILL_MS / 1000
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return True
        except OSError:
            return False	# one it may not signal: never so in a jail
        reap()
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)	# the killed, until the init has reaped them


def clear(top):
    """Everything in the directory top (a descriptor) removed, links
    unlinked, never followed. No recursion and two descriptors at most,
    however deep the tree: a directory's entries are moved up into top
    (each entry once), then it is removed."""
    n = 0
    while True:
        names = os.listdir(top)
        if not names:
            return
        for name in names:
            st = os.stat(name, dir_fd=top, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                os.unlink(name, dir_fd=top)
                continue
            if st.st_mode & 0o700 != 0o700:
                os.chmod(name, 0o700, dir_fd=top)
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=top)
            try:
                for child in os.listdir(sub):
                    cst = os.stat(child, dir_fd=sub, follow_symlinks=False)
                    if stat.S_ISDIR(cst.st_mode) and cst.st_mode & 0o700 != 0o700:
                        os.chmod(child, 0o700, dir_fd=sub)	# moved: its ".." changes
                    while True:
                        n += 1
                        up = ".cw-up-%d" % n
                        try:
                            os.stat(up, dir_fd=top, follow_symlinks=False)
                        except FileNotFoundError:
                            break
                    os.rename(child, up, src_dir_fd=sub, dst_dir_fd=top)
            finally:
                os.close(sub)
            os.rmdir(name, dir_fd=top)


def fresh_scratch():
    """/tmp and /dev/shm emptied, then /tmp as python-env leaves a new jail's
    (matplotlib's font list, so an import need not rebuild it); False when
    something is left"""
    for top in SCRATCH:
        try:
            dfd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue		# no such place in this jail
        try:
            clear(dfd)
        except OSError:
            pass		# what is left is found below
        finally:
            os.close(dfd)
        if os.listdir(top):
            return False
    conf = os.environ.get("MPLCONFIGDIR", "")
    if conf.startswith("/tmp/") and os.path.isdir(MPL):
        try:
            os.makedirs(conf, exist_ok=True)
            for f in os.listdir(MPL):
                if f.startswith("fontlist-") and f.endswith(".json"):
                    shutil.copyfile(os.path.join(MPL, f), os.path.join(conf, f))
        except OSError:
            pass		# matplotlib builds its list itself then
    return True


def main():
    server = os.getpid()
    ctl = socket.socket(fileno=os.dup(0))
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):		# the jail's stderr was the first call's
        os.dup2(null, fd)
    os.close(null)
    os.chdir("/mnt/data")
    sys.path[0] = "/mnt/data"
    main_mod = types.ModuleType("__main__")
    main_mod.__builtins__ = __builtins__
    sys.modules["__main__"] = main_mod
    seq = 0
    while True:
        call = recv_call(ctl)
        if call is None:
            continue
        lang, timeout_ms, fds = call
        seq += 1
        try:
            if lang == "py":
                rc = run_py(main_mod, seq, fds)
            else:
                rc = run_other(lang, timeout_ms, fds)
        except Exception:
            rc = 125
        if os.getpid() != server:
            os._exit(rc & 0xff)		# a fork the call made, back here
        fresh = end_processes() and fresh_scratch()
        ctl.send(int(rc).to_bytes(4, sys.byteorder, signed=True))
        if not fresh:
            os._exit(125)		# the jail goes, and all in it


if __name__ == "__main__":
    main()
