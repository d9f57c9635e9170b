#!/usr/bin/python3
"""The live channel through sockproxy on the real dockerd (integration; fails
without Docker). A worker container created as privd creates one, from a
test image FROM the sandbox image with codeward-agent installed (never the
shipped tag); the agent's channel opened through sockproxy and spoken to by
a small Python client (tests/lib/cwchannel.py): 50 jobs back to back on one
channel (Python and bash, an input file changed and returned, one unchanged
and not returned, one killed at its timeout with the next still served), the
jobs per second beside the floor measured in the same run (a raw docker exec
loop of the same program: printed, never asserted); then the hostile cases:
a program that prints frame bytes (they stay its stdout), a compromised
agent that writes a bad frame (channel closed, worker removed), privd
breaking the grammar (channel closed), an exec with stdin and another argv,
a channel start without hijack, a plain exec started as a channel."""
import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import sp_harness as h

sys.path.insert(0, os.path.join(h.SOURCE, "tests", "lib"))
import cwchannel as cw  # noqa: E402

check = h.check
HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.path.join(h.BUILD, "jail", "codeward-agent")
UID = "10001:10001"
_images = []


def build_image(tag, base, agent_src):
    ctx = h.workdir()
    shutil.copy(agent_src, os.path.join(ctx, "codeward-agent"))
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write("FROM %s\nCOPY codeward-agent /usr/local/bin/codeward-agent\n" % base)
    r = subprocess.run([h.DOCKER, "build", "-q", "-t", tag, ctx], capture_output=True, text=True)
    if r.returncode != 0:
        h.fail("docker build %s: %s" % (tag, r.stderr))
    _images.append(tag)
    return subprocess.run([h.DOCKER, "image", "inspect", "-f", "{{.Id}}", tag],
                          capture_output=True, text=True, check=True).stdout.strip()


def _cleanup_images():
    for t in _images:
        subprocess.run([h.DOCKER, "rmi", "-f", t], capture_output=True)


def policy_with(d, good, evil):
    path = h.write_policy(d, good)
    text = open(path).read()
    text = text.replace("sandbox         %s" % good,
                        "sandbox         %s\nevil            %s" % (good, evil), 1)
    old = "[language d]\nimage           sandbox"
    if old not in text:
        h.fail("policy: no [language d] to point at the evil image")
    text = text.replace(old, "[language d]\nimage           evil", 1)
    with open(path, "w") as f:
        f.write(text)
    return path


def create_worker(listen, image):
    cid = h.proxy_create(listen, image)
    st, _, out = h.call(listen, "POST", "/v1.41/containers/%s/start" % cid)
    if st != 204:
        h.fail("start: %d %r" % (st, out))
    return cid


def open_channel(listen, cid, timeout=60, jail=False):
    """The agent's exec (with jail: the agent's -j), then its hijacked start:
    (socket, Channel, exec id)."""
    st, _, out = h.call(listen, "POST", "/v1.41/containers/%s/channel%s"
                        % (cid, "?jail=1" if jail else ""))
    if st != 201:
        h.fail("channel create: %d %r" % (st, out))
    eid = json.loads(out)["Id"]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(listen)
    s.sendall(h.request("POST", "/v1.41/exec/%s/channel" % eid))
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            h.fail("channel start: closed after %r" % head)
        head += b
    if not head.startswith(b"HTTP/1.1 101 "):
        h.fail("channel start: %r" % head)
    return s, cw.Channel(s.recv, s.sendall), eid


def floor_rate(cid, n):
    """A raw Docker API exec of the same program, n times, straight to dockerd."""
    t0 = time.time()
    for _ in range(n):
        st, _, out = h.direct("POST", "/v1.41/containers/%s/exec" % cid, json.dumps({
            "AttachStdout": True, "AttachStderr": True, "User": UID, "WorkingDir": "/mnt/data",
            "Env": ["CW_CODE=print(1)"], "Cmd": ["/usr/local/bin/cw-run", "py"]}))
        if st != 201:
            h.fail("floor exec create: %d %r" % (st, out))
        eid = json.loads(out)["Id"]
        st, _, out = h.direct("POST", "/v1.41/exec/%s/start" % eid,
                              json.dumps({"Detach": False, "Tty": False}))
        if st != 200 or b"1\n" not in out:
            h.fail("floor exec start: %d %r" % (st, out))
    return n / (time.time() - t0)


def fifty_jobs(ch):
    res = ch.run("py", "print(1)")
    check(res["stdout"] == b"1\n" and res["code"] == 0 and res["reason"] == "none",
          "py print(1): stdout 1, exit 0")
    res = ch.run("bash", "echo out; echo err >&2; exit 3")
    check(res["stdout"] == b"out\n" and res["stderr"] == b"err\n" and res["code"] == 3,
          "bash: both streams and exit 3")
    res = ch.run("py", "open('in.csv','a').write('3,4\\n')",
                 files=[("in.csv", b"1,2\n"), ("keep/same.txt", b"same")])
    got = cw.tar_members(res["archive"])
    check(got == {"data/in.csv": b"1,2\n3,4\n", "data/.codeward/kept": b"keep/same.txt\n"},
          "the changed input comes back, the unchanged one does not (it is listed kept): %r"
          % sorted(got))
    res = ch.run("bash", "rm gone.txt; cat .codeward/kept 2>/dev/null; mkdir -p .codeward; "
                         "echo gone.txt > .codeward/kept",
                 files=[("gone.txt", b"g"), ("stay.txt", b"s")])
    got = cw.tar_members(res["archive"])
    check(got == {"data/.codeward/kept": b"stay.txt\n"},
          "a deleted input is neither returned nor listed kept, whatever the job writes in "
          ".codeward/: %r" % got)
    res = ch.run("py", "open('out/new.bin','wb') if False else None\n"
                       "import os; os.makedirs('out'); open('out/new.bin','wb').write(b'\\0'*700)")
    got = cw.tar_members(res["archive"])
    check(got == {"data/out/new.bin": b"\0" * 700}, "a created file in a new directory comes back")
    t0 = time.time()
    res = ch.run("bash", "echo before; sleep 30", timeout_ms=700)
    check(res["reason"] == "timeout" and res["signal"] == 9 and res["stdout"] == b"before\n"
          and time.time() - t0 < 5, "past its timeout: killed (reason %s, signal %s) within 5 s"
          % (res["reason"], res["signal"]))
    res = ch.run("py", "print(2)")
    check(res["stdout"] == b"2\n" and res["code"] == 0, "the next job after the kill is served")
    res = ch.run("bash", "sleep 30", kill_after=0)
    check(res["reason"] == "killed", "privd's KILL ends the running job: %s" % res["reason"])
    forged = b"\x15\0\0\0\0\0\0\0" + b"\x14\0\0\0\0\0\0\x08" + b"\0" * 8 + b"\x11\0\0\0\0\0\0\x02hi"
    res = ch.run("py", "import sys; sys.stdout.buffer.write(%r)" % forged)
    check(res["stdout"] == forged and res["frames"].count(cw.READY) == 1,
          "frame bytes a program prints arrive as its stdout payload, not as frames")
    # what a program the job starts inherits (ls's own directory left out)
    res = ch.run("bash", "ls -l /proc/self/fd")
    fds = dict(l.split(" -> ")[0].split()[-1:] + l.split(" -> ")[1:]
               for l in res["stdout"].decode().splitlines() if " -> " in l)
    fds = {k: v for k, v in fds.items() if not v.startswith("/proc/")}
    check(set(fds) == {"0", "1", "2"} and fds.get("0") == "/dev/null" and
          fds.get("1", "").startswith("pipe:") and fds.get("2", "").startswith("pipe:") and
          fds["1"] != fds["2"], "the job holds /dev/null and two pipes of the agent, "
          "no descriptor of the channel: %r" % fds)
    ok, t0 = 0, time.time()
    for i in range(41):
        r = ch.run("py", "print(1)")
        ok += r["stdout"] == b"1\n"
    rate = 41 / (time.time() - t0)
    check(ok == 41, "41 more print(1) jobs on the same channel (50 in all): %d right" % ok)
    return rate


def hostile(listen, cid, evil_cid, px):
    # an exec with stdin and another argv: the exec schema has no stdin key
    st, _, _ = h.call(listen, "POST", "/v1.41/containers/%s/exec" % cid,
                      json.dumps({"Cmd": ["/bin/sh"], "AttachStdin": True}))
    check(st == 403, "exec create with AttachStdin and another argv refused: %d" % st)
    st, _, _ = h.call(listen, "POST", "/v1.41/containers/%s/channel" % cid,
                      json.dumps({"Cmd": ["/bin/sh"]}))
    check(400 <= st < 500, "the channel route takes no argv (no body): %d" % st)
    # the agent's exec started without hijack
    st, _, out = h.call(listen, "POST", "/v1.41/containers/%s/channel" % cid)
    eid = json.loads(out)["Id"]
    st, _, _ = h.call(listen, "POST", "/v1.41/exec/%s/start" % eid)
    check(st == 409, "the agent's exec started without hijack refused: %d" % st)
    # a plain exec started as a channel
    st, _, out = h.call(listen, "POST", "/v1.41/containers/%s/exec" % cid,
                        json.dumps({"Cmd": ["/usr/local/bin/cw-run", "bash"]}))
    st, _, _ = h.call(listen, "POST", "/v1.41/exec/%s/channel" % json.loads(out)["Id"])
    check(st == 409, "a plain exec started as a channel refused: %d" % st)
    # privd breaks the grammar: a job in a language the worker does not run,
    # a frame type of the agent's
    for bad, what in ((cw.job_frames("d", "x"), "a job for another image's language"),
                      (cw.frame(cw.STDOUT, b"x"), "privd sending an agent's frame type")):
        s, ch, _ = open_channel(listen, cid)
        ch.hello()
        ch.send(bad)
        try:
            extra = s.recv(100)
        except OSError:
            extra = b""
        s.close()
        check(extra == b"", what + " closes the channel")
    check(h.docker_inspect(cid) is not None, "privd's violation leaves the worker")
    # a compromised agent writes a bad frame
    s, ch, _ = open_channel(listen, evil_cid)
    ch.hello()
    try:
        ch.recv()
        closed = False
    except (cw.Closed, OSError):
        closed = True
    s.close()
    check(closed, "an agent's bad frame closes the channel; nothing of it reaches privd")
    for _ in range(50):
        if h.docker_inspect(evil_cid) is None:
            break
        time.sleep(0.1)
    check(h.docker_inspect(evil_cid) is None, "the worker of a bad agent is removed")
    check("agent: frame length outside its type's bounds; channel closed" in px.logtext(),
          "the violation is logged")


def main():
    h.ensure_users()
    atexit.register(_cleanup_images)
    base = h.sandbox_image()
    d = h.workdir()
    inst = h.instance_name("chan")
    good = build_image("codeward-sandbox:" + inst, base, AGENT)
    evil = build_image("codeward-sandbox:" + inst + "-evil", base,
                       os.path.join(HERE, "channel", "evil-agent"))
    px = h.Proxy(d, h.DOCKER_SOCK, policy_with(d, good, evil), inst)
    try:
        px.wait_ready()
        cid = create_worker(px.listen, good)
        evil_cid = create_worker(px.listen, evil)
        s, ch, _ = open_channel(px.listen, cid)
        ch.hello()
        rate = fifty_jobs(ch)
        s.shutdown(socket.SHUT_WR)
        check(s.recv(1) == b"", "privd closing its side ends the channel")
        s.close()
        floor = floor_rate(cid, 20)
        print("jobs/s: channel %.1f, floor (raw docker exec, same program) %.1f, ratio %.2f"
              % (rate, floor, rate / floor))
        hostile(px.listen, cid, evil_cid, px)
    finally:
        px.stop()
        h.docker_cleanup(inst)
        print(px.logtext()[-3000:])
    return h.summary()


if __name__ == "__main__":
    sys.exit(main())
