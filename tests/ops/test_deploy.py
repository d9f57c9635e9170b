"""The deployed policy is the admin's: the real `./codeward up` and `down`,
every path of theirs moved into a temporary directory (CODEWARD_ETC, _STATE,
_RUN, _LOG, _CACHE, _POLICY), a free port and an instance of its own, on the
real engine.

- The first `up` writes the policy from the shipped default, once. An edit
  (`memory 256M`, with the admin's own comment) survives `down` and `up`
  byte for byte, a run's sandbox really gets 256M (the container's
  HostConfig and the cgroup the program sees), `./codeward policy diff`
  lists exactly one departure more, `[sandbox] memory` (the other one is
  `[auth] keys`, which `up` sets for a private $CODEWARD_ETC), and
  `./codeward policy check` names the policy by the sha256 of its bytes.
- A rebuilt sandbox image (another image id, given as CODEWARD_SANDBOX_IMAGE,
  as the suites give theirs): `up` changes the pin line and nothing else,
  prints the change, keeps the file before it as .prev; the sandboxes run
  the new image; the diff still lists only the admin's edit.
- A deployed policy that does not check stops `up` with FILE:LINE, the file
  untouched, nothing listening, no daemon and no sandbox.
- `./codeward policy isolation jail` pins the tree's jail/seccomp-worker.json
  (the shipped pin) with `isolation jail` in one edit, .prev kept (under
  runtime runsc with jail-runsc-caps, and `isolation container` takes it
  back); `up` moves a pin that is not the tree's file's, says so, and
  sockproxy gives the workers that file; a run goes through.

It never uses /etc/codeward, port 8000 or codeward-sandbox:current's tag:
the "rebuilt" image is an untagged child of the image under test, removed
at the end.
"""
import atexit
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile

from cwtest import (DOCKER, SOURCE, check, containers_with_label, docker_api, free_port,
                    main, policy_get, require_docker, sandbox_image_id)
from jailprofile import COMMITTED, profile_sum
from opslib import changed_lines, child_image, wait_for

CODEWARD = os.path.join(SOURCE, "codeward")
MEMORY_LINE = "memory          512M            # RAM; a program above it is killed (out of memory)"
EDITED_LINE = "memory          256M            # ours: RAM; we run small programs"


class Deployment:
    def __init__(self):
        require_docker()
        self.dir = tempfile.mkdtemp(prefix="cw-deploy-")
        os.chmod(self.dir, 0o755)
        self.instance = "test-deploy-" + secrets.token_hex(4)
        self.port = free_port()
        self.image = sandbox_image_id()
        self.policy = os.path.join(self.dir, "policies", "codeward.policy")
        self.etc = os.path.join(self.dir, "etc")
        self.env = dict(os.environ, CODEWARD_ETC=self.etc,
                        CODEWARD_STATE=os.path.join(self.dir, "state"),
                        CODEWARD_RUN=os.path.join(self.dir, "run"),
                        CODEWARD_LOG=os.path.join(self.dir, "log"),
                        CODEWARD_CACHE=os.path.join(self.dir, "cache"),
                        CODEWARD_POLICY=self.policy, CODEWARD_PORT=str(self.port),
                        CODEWARD_INSTANCE=self.instance, CODEWARD_SANDBOX_IMAGE=self.image)
        self.env.pop("CODEWARD_API_KEY", None)
        self.child_image = None

    def run(self, *args, ok=True, image=None, timeout=600):
        env = dict(self.env, CODEWARD_SANDBOX_IMAGE=image or self.image)
        r = subprocess.run([CODEWARD] + list(args), env=env, capture_output=True, text=True,
                           timeout=timeout)
        if ok:
            check(r.returncode == 0, "./codeward %s: exit %d\n%s%s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr, self.logs()))
        return r

    def logs(self):
        out = ""
        for name in ("privd", "sockproxy"):
            path = os.path.join(self.dir, "log", name + ".log")
            if os.path.exists(path):
                out += "--- %s ---\n%s\n" % (name, open(path, errors="replace").read()[-3000:])
        return out

    def text(self):
        return open(self.policy).read()

    def key(self):
        return open(os.path.join(self.etc, "api-key")).read().strip()

    def exec(self, code):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        c.request("POST", "/v1/exec", body=json.dumps({"lang": "bash", "code": code}),
                  headers={"X-API-Key": self.key(), "Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        c.close()
        check(r.status == 200, "exec answered %d: %r" % (r.status, body[:300]))
        return json.loads(body)

    def listening(self):
        s = socket.socket()
        try:
            s.settimeout(2)
            s.connect(("127.0.0.1", self.port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def sandboxes(self):
        out = []
        for cid in containers_with_label("codeward.instance=" + self.instance):
            st, raw = docker_api("GET", "/v1.41/containers/%s/json" % cid)
            if st == 200:
                out.append(json.loads(raw))
        return out

    def cleanup(self):
        try:
            self.run("down", ok=False, timeout=120)
        finally:
            for cid in containers_with_label("codeward.instance=" + self.instance):
                docker_api("DELETE", "/v1.41/containers/%s?force=1&v=1" % cid)
            if self.child_image:
                subprocess.run([DOCKER, "rmi", self.child_image], capture_output=True)
            shutil.rmtree(self.dir, ignore_errors=True)


dep = None


def deployment():
    global dep
    if dep is None:
        dep = Deployment()
        atexit.register(dep.cleanup)
    return dep


def departures(d, image=None):
    """the keys `./codeward policy diff` lists (its comment lines left out)"""
    r = d.run("policy", "diff", ok=False, image=image)
    check(r.returncode in (0, 1) and r.stderr == "", "policy diff: %d %r" % (r.returncode, r.stderr))
    return [l.split(":")[0] for l in r.stdout.split("\n") if l.startswith("[")], r


def memory_of_a_run(d):
    """what the cgroup of a run's sandbox allows, as the program reads it"""
    j = d.exec("cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
               "cat /sys/fs/cgroup/memory.max")
    check(j.get("stdout", "").strip().isdigit(), "a run read its memory limit: %r" % j)
    return int(j["stdout"])


def test_1_an_edit_survives_down_and_up():
    d = deployment()
    r = d.run("up")
    check("wrote %s from policy/default.policy" % d.policy in r.stderr, "first up: %r" % r.stderr)
    shipped = open(os.path.join(SOURCE, "policy", "default.policy")).read()
    written = d.text()
    # the shipped default, its image pinned and (a private $ETC) its key file
    check([(x, y) for _, x, y in changed_lines(shipped, written)] ==
          [("sandbox         @SANDBOX_IMAGE@", "sandbox         " + d.image),
           ("keys            /etc/codeward/keys      # hashes of the accepted API keys, one per line",
            "keys            %s/keys" % d.etc)],
          "the first policy: %r" % changed_lines(shipped, written))
    check(memory_of_a_run(d) == 512 << 20, "the default's memory")
    # the one departure `up` itself makes here: a private $ETC holds the key hashes
    keys, r = departures(d)
    check(r.returncode == 1 and keys == ["[auth] keys"] and
          "[auth] keys: /etc/codeward/keys -> %s/keys\n" % d.etc in r.stdout,
          "policy diff of the written policy: %r" % r.stdout)
    # the admin edits it with an editor, comment and all
    check(MEMORY_LINE in written, "no memory line %r" % MEMORY_LINE)
    edited = written.replace(MEMORY_LINE, EDITED_LINE)
    with open(d.policy, "w") as f:
        f.write(edited)
    d.run("down")
    check(not d.listening() and not d.sandboxes(), "down left something")
    r = d.run("up")
    check("wrote " not in r.stderr and "changed" not in r.stderr, "second up: %r" % r.stderr)
    check(d.text() == edited, "up rewrote the admin's policy: %r" % changed_lines(edited, d.text()))
    check(not os.path.exists(d.policy + ".prev"), "a .prev with no image change")
    # what runs is what the file says
    check(memory_of_a_run(d) == 256 << 20, "a run's cgroup after the edit")
    boxes = wait_for("the pool's sandboxes", d.sandboxes, 60)
    check(all(b["HostConfig"]["Memory"] == 256 << 20 for b in boxes),
          "sandbox memory %r" % [b["HostConfig"]["Memory"] for b in boxes])
    # the auditor's view: the edit is exactly one departure more, with the
    # default's comment
    keys, r = departures(d)
    check(r.returncode == 1 and keys == ["[sandbox] memory", "[auth] keys"],
          "policy diff: %r" % r.stdout)
    check("[sandbox] memory: 512M -> 256M\n    # RAM; a program above it is killed" in r.stdout,
          "policy diff: %r" % r.stdout)
    # check names the policy by the sha256 of its bytes
    r = d.run("policy", "check")
    data = open(d.policy, "rb").read()
    check(r.stdout.split("\n")[1] == "# policy sha256:%s (%d bytes)" %
          (hashlib.sha256(data).hexdigest(), len(data)), "policy check: %r" % r.stdout[:300])
    check("\nmemory          256M\n" in r.stdout, "effective memory: %r" % r.stdout)
    # the sha256 `up` printed is the same
    check("policy %s: sha256:%s" % (d.policy, hashlib.sha256(data).hexdigest()) in
          d.run("up").stderr, "up's policy line")


def test_2_a_rebuilt_image_moves_only_the_pin():
    d = deployment()
    before = d.text()
    check(EDITED_LINE in before, "the edit is not there")
    # a "rebuild": an image of its own, a child of the one under test
    d.child_image = child_image(d.image, "codeward.test=" + d.instance)
    d.run("down")
    r = d.run("up", image=d.child_image)
    line = before.split("\n").index("sandbox         " + d.image) + 1
    check("%s:%d: sandbox %s -> %s" % (d.policy, line, d.image, d.child_image) in r.stderr,
          "up did not print the pin it moved: %r" % r.stderr)
    after = d.text()
    check(changed_lines(before, after) == [(line, "sandbox         " + d.image,
                                            "sandbox         " + d.child_image)],
          "up changed %r" % changed_lines(before, after))
    check(open(d.policy + ".prev").read() == before, "the file before is not kept as .prev")
    check(EDITED_LINE in after, "the edit is gone")
    # the sandboxes run the new image, under the admin's limit
    check(memory_of_a_run(d) == 256 << 20, "memory after the rebuild")
    boxes = wait_for("the pool's sandboxes", d.sandboxes, 60)
    check(all(b["Image"] == d.child_image for b in boxes), "images %r" % [b["Image"] for b in boxes])
    keys, r = departures(d, image=d.child_image)
    check(keys == ["[sandbox] memory", "[auth] keys"], "policy diff after the rebuild: %r" % r.stdout)
    # an image that did not change moves nothing
    r = d.run("up", image=d.child_image)
    check(d.text() == after and "changed" not in r.stderr, "a second up: %r" % r.stderr)


def test_3_a_broken_policy_stops_up():
    d = deployment()
    d.run("down")
    broken = d.text().replace(EDITED_LINE, EDITED_LINE.replace("256M", "256MB"))
    line = broken.split("\n").index(EDITED_LINE.replace("256M", "256MB")) + 1
    with open(d.policy, "w") as f:
        f.write(broken)
    r = d.run("up", ok=False, image=d.child_image)
    check(r.returncode != 0, "up started on a broken policy")
    check("%s:%d: '256MB': unknown size unit 'MB'" % (d.policy, line) in r.stderr,
          "up's error: %r" % r.stderr)
    check(d.text() == broken, "up touched the broken policy")
    check(not d.listening(), "something listens on %d" % d.port)
    check(not d.sandboxes(), "a sandbox of the instance exists")
    st = d.run("status")
    check(st.stdout == "sockproxy: stopped\nprivd: stopped\n", "status: %r" % st.stdout)
    r = d.run("policy", "check", ok=False)
    check(r.returncode == 1 and "%s:%d: '256MB'" % (d.policy, line) in r.stderr,
          "policy check: %d %r" % (r.returncode, r.stderr))


def test_4_isolation_jail_pins_the_trees_profile():
    d = deployment()
    d.run("down")
    # the file test 3 broke, mended
    mended = d.text().replace(EDITED_LINE.replace("256M", "256MB"), EDITED_LINE)
    with open(d.policy, "w") as f:
        f.write(mended)
    sum_ = profile_sum(COMMITTED)
    tool = os.path.join(os.environ["CW_BUILD"], "policy", "codeward-policy")
    caps = "SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP"
    # under runsc the switch needs jail-runsc-caps too, in the same edit
    before = d.text()
    subprocess.run([tool, "set", "sandbox", "pids", "256", "sandbox", "runtime", "runsc",
                    "sandbox", "isolation", "container", d.policy], check=True)
    d.run("policy", "isolation", "jail")
    t = d.text()
    # (and pids raised to the 1024 a runsc jail needs)
    check(policy_get(t, "sandbox", "isolation") == "jail" and
          policy_get(t, "sandbox", "pids") == "1024" and
          policy_get(t, "sandbox", "jail-runsc-caps") == caps and
          policy_get(t, "sandbox", "jail-seccomp") == sum_, "runsc, jail: %r" %
          changed_lines(before, t))
    d.run("policy", "isolation", "container")
    t = d.text()
    check(policy_get(t, "sandbox", "isolation") == "container" and
          policy_get(t, "sandbox", "jail-runsc-caps") == "none", "runsc, container")
    with open(d.policy, "w") as f:
        f.write(before)
    # under runc: the pin and isolation jail in one edit, the file before
    # kept; only the lines whose value changes are touched
    d.run("policy", "isolation", "container")
    before = d.text()
    d.run("policy", "isolation", "jail")
    t = d.text()
    check(sorted(y.split()[0] for _, _, y in changed_lines(before, t)) ==
          sorted(k for k in ("isolation", "jail-seccomp")
                 if policy_get(before, "sandbox", k) != policy_get(t, "sandbox", k)) and
          policy_get(t, "sandbox", "isolation") == "jail" and
          policy_get(t, "sandbox", "jail-seccomp") == sum_,
          "policy isolation jail: %r" % changed_lines(before, t))
    check(open(d.policy + ".prev").read() == before, ".prev")
    r = d.run("policy", "isolation", "jail")
    check(d.text() == t and "says so already" in r.stderr, "policy isolation jail again: %r" % r.stderr)
    # a pin of another profile (a policy from an older tree): up moves it
    wrong = "sha256:" + "0" * 64
    subprocess.run([tool, "set", "sandbox", "jail-seccomp", wrong, d.policy], check=True)
    r = d.run("up", image=d.child_image)
    check("jail-seccomp %s -> %s" % (wrong, sum_) in r.stderr, "up's pin: %r" % r.stderr)
    check(policy_get(d.text(), "sandbox", "jail-seccomp") == sum_, "the pin up left")
    log = open(os.path.join(d.dir, "log", "sockproxy.log"), errors="replace").read()
    check("/jail/seccomp-worker.json: %s" % sum_ in log, "sockproxy's profile: %r" % log[-2000:])
    check(d.exec("echo jailed")["stdout"] == "jailed\n", "a run under isolation jail")
    boxes = wait_for("the workers", d.sandboxes, 60)
    want = json.load(open(COMMITTED))
    for b in boxes:
        prof = [o for o in b["HostConfig"]["SecurityOpt"] if o.startswith("seccomp=")]
        check(len(prof) == 1 and json.loads(prof[0][len("seccomp="):]) == want,
              "%s: not the tree's profile" % b["Id"][:12])
    d.run("down")
    d.run("policy", "isolation", "container")
    check(policy_get(d.text(), "sandbox", "isolation") == "container", "back to container")


if __name__ == "__main__":
    main(globals())
