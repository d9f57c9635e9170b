"""Helpers for the operations tests: scrape and parse /metrics with
Prometheus' own parser, read the audit lines out of a daemon's log, speak raw
bytes to sockproxy, find an appliance's sandboxes on the engine, and make
a "rebuilt" sandbox image."""
import hashlib
import json
import os
import re
import socket
import subprocess
import time

from prometheus_client.parser import text_string_to_metric_families

from cwtest import DOCKER, check, containers_with_label, docker_api, main

TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Scrape:
    """One /metrics answer: families by name, samples by (name, labels)."""

    def __init__(self, text):
        self.text = text
        self.families = {}
        self.samples = {}
        for fam in text_string_to_metric_families(text):
            self.families[fam.name] = fam
            for s in fam.samples:
                self.samples[(s.name, tuple(sorted(s.labels.items())))] = s.value

    def get(self, name, **labels):
        key = (name, tuple(sorted(labels.items())))
        check(key in self.samples, "no sample %s%r in /metrics" % (name, labels))
        return self.samples[key]

    def has(self, name, **labels):
        return (name, tuple(sorted(labels.items()))) in self.samples


def scrape(port, key=None, path="/metrics"):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"X-API-Key": key} if key else {}
    c.request("GET", path, headers=h)
    r = c.getresponse()
    body = r.read()
    c.close()
    check(r.status == 200, "GET %s answered %d: %r" % (path, r.status, body[:200]))
    check(r.getheader("Content-Type") == TEXT_TYPE,
          "/metrics content type %r" % r.getheader("Content-Type"))
    return Scrape(body.decode())


def audit_lines(log_text, kind=None):
    """Every audit line of a log, parsed; each must be one JSON object."""
    out = []
    for line in log_text.splitlines():
        # the container log may prefix "name | "; the line itself starts with {
        i = line.find('{"audit":')
        if i < 0:
            continue
        j = json.loads(line[i:])
        check(list(j)[:4] == ["audit", "v", "time", "policy"], "audit line head: %r" % line)
        check(re.fullmatch(r"sha256:[0-9a-f]{64}", j["policy"]) is not None,
              "audit line policy: %r" % line)
        check(j["v"] == 1, "audit version %r" % j["v"])
        if kind is None or j["audit"] == kind:
            out.append(j)
    return out


def policy_id(path):
    """The id codeward names a policy file by: the sha256 of its bytes."""
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def daemon_log(app, name):
    f = app.logs[name]
    f.flush()
    f.seek(0)
    return f.read().decode(errors="replace")


def sockproxy_raw(path, data, timeout=20):
    """Send raw bytes to a sockproxy socket; the status it answered."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(data)
    got = b""
    while True:
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        if not b:
            break
        got += b
    s.close()
    check(got.startswith(b"HTTP/1.1 "), "sockproxy answered %r" % got[:100])
    return int(got.split(b" ", 2)[1])


def running_sandboxes(instance):
    ids = []
    for cid in containers_with_label("codeward.instance=" + instance):
        st, raw = docker_api("GET", "/v1.41/containers/%s/json" % cid)
        if st == 200 and json.loads(raw)["State"]["Running"]:
            ids.append(cid)
    return ids


def wait_for(what, fn, timeout=60, step=0.2):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        check(time.time() < deadline, "timed out waiting for %s" % what)
        time.sleep(step)


def child_image(parent, label):
    """An untagged image of its own, a child of 'parent' with one label more:
    what a rebuilt sandbox image looks like to a policy (another id, the
    same contents). The caller removes it (docker rmi ID)."""
    r = subprocess.run([DOCKER, "build", "-q", "--label", label, "-"], input="FROM %s\n" % parent,
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, DOCKER_BUILDKIT="0"))
    check(r.returncode == 0, "docker build: %s" % r.stderr)
    img = r.stdout.strip().split()[-1]
    check(img.startswith("sha256:") and img != parent, "docker build said %r" % r.stdout)
    return img


def changed_lines(a, b):
    """(line number, before, after) of each line that differs; same count"""
    a, b = a.split("\n"), b.split("\n")
    check(len(a) == len(b), "line count %d -> %d" % (len(a), len(b)))
    return [(i + 1, x, y) for i, (x, y) in enumerate(zip(a, b)) if x != y]


def main_then_stop(ns, appliance):
    """Run the module's tests (cwtest.main), then stop the one appliance they
    shared (appliance(): it, or None) and check it left no sandbox."""
    try:
        main(ns)
    finally:
        a = appliance()
        if a is not None:
            a.stop()
            check(not running_sandboxes(a.instance), "sandboxes left")
