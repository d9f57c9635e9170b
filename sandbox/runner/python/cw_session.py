"""codeward: the server of a session's jail (issue 15).

codeward-agent starts it once per session, through `cw-run --session`, as
the sandbox user inside the session's jail, with its fd 0 a SOCK_SEQPACKET
socket to the agent. Each message there is one call: "LANG TIMEOUT_MS" with
the call's stdout and stderr as two descriptors; the program text is at
/mnt/data/.codeward/code. A py call runs in this process, in the session's
one __main__, so its variables, imports and functions are there for the
next call; any other language runs as `cw-run LANG`, a fresh program in the
same jail. Each call is answered with one 4-byte status: the exit code, or
-N for a signal N. A py call's error prints its traceback to stderr and
answers 1, as `python3 main.py` would exit.

Sandbox-side code: the program of a call runs with everything this server
has (it is this process) and can write to the socket too; the agent reads
nothing from it but that fixed-size status, so a forged one fools only the
session that forged it.
"""
import os
import socket
import subprocess
import sys
import types

from cw_zygote import exec_program, recv_fds

CODE = "/mnt/data/.codeward/code"
CALLS = "/tmp/.codeward-session"
REQ_MAX = 256


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


def run_py(main, seq, fds):
    """One call in this process, its stdio on the call's pipes."""
    os.makedirs(CALLS, mode=0o700, exist_ok=True)
    path = "%s/call_%d.py" % (CALLS, seq)	# for the traceback's lines
    try:
        source = take_code()
        with open(path, "wb") as f:
            f.write(source)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    flush()
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    for fd in fds:
        os.close(fd)
    sys.argv = [path]
    code = exec_program(source, path, main.__dict__)
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
        p = subprocess.Popen(["/usr/local/bin/cw-run", lang], stdin=subprocess.DEVNULL,
                             stdout=fds[0], stderr=fds[1], cwd="/mnt/data",
                             env=other_env(lang, timeout_ms))
    finally:
        for fd in fds:
            os.close(fd)
    return p.wait()


def main():
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
        ctl.send(int(rc).to_bytes(4, sys.byteorder, signed=True))


if __name__ == "__main__":
    main()
