"""codeward-supervise on the real engine (as ./codeward up runs the daemons).

- kill -9 of frontd (twice: 1 s into 8 runs of 5 s, before their answers
  are committed, and 4 s into them, after keep-alive spaces began), of privd
  and of sockproxy in turn, each with 8 runs in flight (8 users): every
  request answered, healthy again within 2 s, the supervisor's log says what
  died and why, 8 runs after it all succeed; 40 files stored before the
  kills still download byte-identical; no sandbox of the instance left
  stopped and privd's live count equal to the sandboxes that exist.
  Every interrupted request must be a JSON error: a 5xx, or the error body
  inside a 200 already committed by keep-alive spaces. For frontd's kill
  that answer is privd's (privd/custody.c: it holds a copy of each
  connection frontd answers): a 503 before the spaces, the late failure
  inside the 200 after them; none of them may lose its connection.
- SIGTERM to the supervisor: no daemon process and no sandbox left.
- The listener held: with --listen the supervisor holds the API's socket
  across the pair's restarts, so health probes on new connections, one
  every 10 ms through a kill -9 of frontd and then of privd, are never
  refused: each waits in the backlog until the new frontd accepts it.
- test_backoff (no engine; suite unit): a child that dies at once is
  restarted at once, then after growing delays, while its sibling runs on.
"""
import json
import os
import re
import secrets
import signal
import subprocess
import tempfile
import threading
import time

from cwhttp import Client
from cwtest import BUILD, Appliance, Fail, check, containers_with_label, docker_api, main
from opslib import scrape, wait_for

USERS = ["sv-user-%d" % i for i in range(8)]
OVERRIDES = [("concurrency", "total", "8"), ("concurrency", "per-user", "2"),
             ("time", "default", "60s")]
SLOW = "import time\ntime.sleep(5)\nprint(1)\n"
HEALTHY_WITHIN_S = 2.0


def children_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def exe_of(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return ""


def frontd_of(a):
    for c in children_of(a.pid("privd")):
        if exe_of(c).endswith("codeward-frontd"):
            return c
    raise Fail("privd has no frontd child")


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def healthy(a):
    try:
        st, _ = a.request("GET", "/v1/health", auth=False)
        return st == 200
    except OSError:
        return False


def run_one(a, user, out, i):
    c = a.conn(timeout=120)
    try:
        body = json.dumps({"lang": "py", "code": SLOW, "user_id": user}).encode()
        c.request("POST", "/v1/exec", body=body,
                  headers={"X-API-Key": a.key, "Content-Type": "application/json"})
        r = c.getresponse()
        out[i] = ("answer", r.status, r.read())
    except Exception as e:      # the connection closed under the request
        out[i] = ("closed", None, repr(e))
    finally:
        c.close()


def runs_at_once(a, n=8):
    out = [None] * n
    ts = [threading.Thread(target=run_one, args=(a, USERS[i], out, i)) for i in range(n)]
    for t in ts:
        t.start()
    return ts, out


def classify(answer):
    """'ok' (a finished run), 'error' (a JSON error body) or the problem."""
    kind, status, body = answer
    if kind == "closed":
        return "closed"
    try:
        j = json.loads(body)
    except ValueError:
        return "not JSON: %d %r" % (status, body[:200])
    if status == 200 and isinstance(j, dict) and j.get("stdout") == "1\n":
        return "ok"
    if isinstance(j, dict) and isinstance(j.get("error"), str) and \
            (status >= 500 or status == 200):
        return "error"
    return "unexpected: %d %r" % (status, body[:200])


def upload_files(a, n=40):
    c = Client(a.port, {"X-API-Key": a.key})
    files = []
    for i in range(n):
        data = secrets.token_bytes(1000 + 97 * i)
        name = "f%02d.bin" % i
        r = c.upload([("kind", "user"), ("id", USERS[0]),
                      ("file", name, data, "application/octet-stream")],
                     headers={"User-Id": USERS[0]})
        check(r.status == 200, "upload %s: %r" % (name, r))
        j = r.json()
        files.append((j["session_id"], j["files"][0]["fileId"], data))
    return files


def check_files(a, files):
    c = Client(a.port, {"X-API-Key": a.key})
    for sid, fid, data in files:
        r = c.request("GET", "/v1/download/%s/%s?kind=user&id=%s" % (sid, fid, USERS[0]))
        check(r.status == 200 and r.body == data,
              "file %s/%s: %d, %d bytes of %d" % (sid, fid, r.status, len(r.body), len(data)))


def sandboxes_settled(a):
    """every sandbox of the instance runs, and privd counts exactly those"""
    ids = containers_with_label("codeward.instance=" + a.instance)
    states = []
    for cid in ids:
        st, raw = docker_api("GET", "/v1.41/containers/%s/json" % cid)
        if st == 200:
            states.append(json.loads(raw)["State"]["Status"])
    active = scrape(a.port, a.key).get("codeward_sandboxes_active")
    settled = all(s == "running" for s in states) and active == len(states)
    return settled, "states %r, codeward_sandboxes_active %r" % (states, active)


def supervise_log(a):
    return a.log("supervise")


def kill_during_runs(a, victim, want_log, after_s, slow):
    """kill -9 'victim' after_s into 8 runs of 5 s (past 3 s each answer is
    committed to 200 by keep-alive spaces: its error comes inside the 200)"""
    ts, out = runs_at_once(a)
    t_start = time.time()
    wait_for("8 runs in flight", lambda: scrape(a.port, a.key).get(
        "codeward_executions_running") >= 8, 60, 0.1)
    time.sleep(max(0, t_start + after_s - time.time()))
    old_frontd = frontd_of(a)
    pid = old_frontd if victim == "frontd" else a.pid(victim)
    os.kill(pid, signal.SIGKILL)
    t0 = time.time()
    kill_s = t0 - t_start
    while not healthy(a):
        if time.time() - t0 > 30:
            raise Fail("not healthy 30 s after the kill of %s" % victim)
        time.sleep(0.05)
    took = time.time() - t0
    for t in ts:
        t.join(120)
        check(not t.is_alive(), "a request is still unanswered 120 s after the kill of %s" % victim)
    kinds = [classify(x) for x in out]
    print("kill -9 %s %.1f s into the runs: healthy after %.2f s, answers %s %s" % (
        victim, kill_s, took, sorted(kinds), sorted(str(x[1]) for x in out)), flush=True)
    bad = [k for k in kinds if k not in ("ok", "error")]
    check(not bad, "kill of %s: answers %r" % (victim, kinds))
    if victim == "frontd" and abs(kill_s - 3.0) > 0.3:
        # who answered: privd's fixed words, as the moment of the kill says
        # (a 503 before the 200's head went out at 3 s, a late failure after)
        want = 503 if kill_s < 3 else 200
        check(all(x[1] == want and b"ended before the answer" in x[2] for x in out),
              "kill of frontd %.1f s in: %r" % (kill_s, out))
    if took > HEALTHY_WITHIN_S:       # checked after all three kills: each one's time told
        slow.append("kill of %s: healthy again after %.2f s" % (victim, took))
    check(re.search(want_log, supervise_log(a), re.S) is not None,
          "kill of %s: the supervisor's log lacks %r" % (victim, want_log))
    # no frontd stays behind its dead privd
    if victim != "sockproxy":
        wait_for("the old frontd gone", lambda: not alive(old_frontd), 5, 0.1)
    # and after it, 8 runs at once all succeed
    ts, out = runs_at_once(a)
    for t in ts:
        t.join(120)
    after = [classify(x) for x in out]
    check(after == ["ok"] * 8, "after the kill of %s: %r %r" % (victim, after, out))
    # for the log: how the live count stands (checked after the last kill)
    print("after the kill of %s: %s" % (victim, sandboxes_settled(a)[1]), flush=True)


def test_kills():
    with Appliance(OVERRIDES, name="supervise", supervised=True) as a:
        files = upload_files(a)
        slow = []
        for after_s in (1.0, 4.0):
            kill_during_runs(a, "frontd", r"privd's frontd \(pid \d+\) ended, .*privd died "
                             r"\(signal 9, SIGKILL\)", after_s, slow)
        kill_during_runs(a, "privd", r"privd died \(signal 9, SIGKILL\)", 3.5, slow)
        kill_during_runs(a, "sockproxy", r"sockproxy died \(signal 9, SIGKILL\)", 2.0, slow)
        check_files(a, files)
        st = open(os.path.join(a.dir, "supervise.status")).read()
        check(re.search(r"^privd\t\d+\t\S+\t3\t", st, re.M) and
              re.search(r"^sockproxy\t\d+\t\S+\t1\t", st, re.M),
              "status file %r" % st)
        check(not slow, "; ".join(slow))
        wait_for("sandboxes settled: " + sandboxes_settled(a)[1],
                 lambda: sandboxes_settled(a)[0], 60, 0.5)


def test_down():
    a = Appliance(OVERRIDES, name="supervise-down", supervised=True)
    a.start()
    try:
        a.exec("py", "print(1)", user_id=USERS[0])
        pids = [a.pid("sockproxy"), a.pid("privd"), frontd_of(a), a.procs["supervise"].pid]
    except Exception:
        a.stop(check_leftovers=False)
        raise
    a.procs["supervise"].send_signal(signal.SIGTERM)
    rc = a.procs["supervise"].wait(40)
    check(rc == 0, "the supervisor exited %d" % rc)
    left = [p for p in pids if alive(p)]
    check(not left, "processes left: %r" % left)
    a.stop()     # no container of the instance is left (it fails otherwise)
    check("supervise: stopped" in a.log("supervise"), "the log: %s" % a.log("supervise"))
    for name in ("sockproxy", "privd"):
        check(not os.path.exists(os.path.join(a.dir, name + ".pid")), "%s.pid left" % name)


def probe_forever(port, stop, out):
    """a new connection and GET /v1/health, one every 10 ms, until stop"""
    import http.client
    while not stop.is_set():
        t0 = time.time()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            c.request("GET", "/v1/health")
            r = c.getresponse()
            r.read()
            out.append(("answer", r.status, t0, time.time() - t0))
        except ConnectionRefusedError:
            out.append(("refused", None, t0, time.time() - t0))
        except Exception as e:      # accepted by the frontd that died
            out.append(("closed", repr(e), t0, time.time() - t0))
        finally:
            c.close()
        time.sleep(0.01)


def test_listener_held():
    with Appliance(OVERRIDES, name="supervise-listen", supervised=True) as a:
        check("holding the listener 127.0.0.1:%d" % a.port in a.log("supervise"),
              "the supervisor does not say it holds the listener: %s" % a.log("supervise"))
        for victim in ("frontd", "privd"):
            stop, out = threading.Event(), []
            t = threading.Thread(target=probe_forever, args=(a.port, stop, out))
            t.start()
            time.sleep(0.5)
            old = frontd_of(a)
            os.kill(old if victim == "frontd" else a.pid(victim), signal.SIGKILL)
            t_kill = time.time()
            wait_for("the old frontd gone", lambda: not alive(old), 5, 0.05)
            wait_for("a new frontd", lambda: healthy(a) and frontd_of(a) != old, 30, 0.05)
            time.sleep(0.5)
            stop.set()
            t.join(60)
            refused = [x for x in out if x[0] == "refused"]
            closed = [x for x in out if x[0] == "closed"]
            after = [x for x in out if x[2] > t_kill and x[0] == "answer"]
            slowest = max([x[3] for x in after] or [0])
            print("kill -9 %s: %d probes, %d refused, %d closed, %d answered after the "
                  "kill (slowest %.2f s)" % (victim, len(out), len(refused), len(closed),
                                             len(after), slowest), flush=True)
            check(not refused, "kill of %s: %d probes refused while the pair restarted"
                  % (victim, len(refused)))
            # a probe the dead frontd had accepted but not read whole may
            # lose its connection; one in the backlog may not
            check(len(closed) <= 2, "kill of %s: %d probes lost: %r" % (victim, len(closed), closed))
            check(after and all(x[1] == 200 for x in after),
                  "kill of %s: probes after it %r" % (victim, after[:5]))


def test_backoff():
    d = tempfile.mkdtemp(prefix="cw-backoff-")
    fake = os.path.join(d, "codeward-crash")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho crashing\nexit 3\n")
    os.chmod(fake, 0o755)
    log = open(os.path.join(d, "supervise.log"), "wb+")
    p = subprocess.Popen([os.path.join(BUILD, "supervise", "codeward-supervise"), "--run", d,
                          "--log", d, "--", "/bin/sleep", "600", "--", fake],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(4.5)
        sleeper = int(open(os.path.join(d, "sleep.pid")).read())
        status = open(os.path.join(d, "supervise.status")).read()
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(20)
    log.seek(0)
    text = log.read().decode()
    delays = [int(x) for x in re.findall(
        r"crash died \(exit status 3\) after \d+\.\d s; restart \d+ in (\d+) ms", text)]
    check(delays[:5] == [0, 250, 500, 1000, 2000], "delays %r\n%s" % (delays, text))
    check(len(delays) in (5, 6), "restarts in 4.5 s: %r" % delays)
    check(re.search(r"^crash\t0\t\S+\t%d\texit status 3$" % len(delays), status, re.M),
          "status %r" % status)
    check("sleep died" not in text and "stopping sleep (pid %d)" % sleeper in text,
          "the sibling was touched:\n%s" % text)
    check(rc == 0 and not alive(sleeper), "stop: %d" % rc)
    check(open(os.path.join(d, "crash.log")).read().count("crashing\n") == len(delays),
          "the child's log")


if __name__ == "__main__":
    main(globals())
