"""Scale-out under test (issue 19): N appliances behind HAProxy, as
CODEWARD_NODES=N ./codeward up runs them (scripts/nodes.sh), on the real
Docker engine.

Each node is cwtest's Appliance under codeward-supervise (its own instance
label, directory and port; privd's --node nodeI), all with one API key and,
with s3=True, one s3rver bucket as their store ([store] backend s3). HAProxy
runs the configuration scripts/nodes.sh renders from scripts/haproxy.cfg.in
(its haproxy_config, called here through bash: the tests hold the shipped
routing, not a copy of it). No Docker, no s3rver or no haproxy: a failure."""
import hashlib
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time

from cwtest import (BUILD, SOURCE, Appliance, Fail, check, docker_api, free_port, policy_get,
                    require_docker)

import splib

HAPROXY = "/usr/sbin/haproxy"
BUCKET = "codeward"
# the tests' load on a 2-core machine: three nodes' workers without numpy
LIGHT = [("concurrency", "prewarm", "none")]


def nodes_sh(func, *args):
    """scripts/nodes.sh's FUNC ARGS..., its stdout"""
    script = ('TOP=$1; shift; . "$TOP/scripts/lib.sh"; . "$TOP/scripts/nodes.sh"; "$@"')
    p = subprocess.run(["bash", "-c", script, "nodes", SOURCE, func] + list(args),
                       capture_output=True, text=True)
    check(p.returncode == 0, "nodes.sh %s: %s" % (func, p.stderr))
    return p.stdout


class Node(Appliance):
    """An appliance of the cluster: privd's --node NAME, the cluster's key,
    under s3 the cluster's s3rver"""

    def __init__(self, node, key, overrides, s3=None, **kw):
        # HAProxy's address trusted, as scripts/nodes.sh's nodes.policy has it
        overrides = [("auth", "trusted-proxies", "127.0.0.1")] + list(overrides)
        super().__init__(overrides, name="scale-" + node, supervised=True, node=node,
                         store="s3" if s3 else "local", s3=s3, **kw)
        self.key = key
        h = subprocess.run([os.path.join(BUILD, "frontd", "codeward-keytool"), "hash"],
                           input=key + "\n", capture_output=True, text=True, check=True)
        with open(self.keys_path, "w") as f:
            f.write(h.stdout)

    def processes(self):
        """the supervisor and every process under it (daemons, frontd,
        storeproxy), by /proc's parent links"""
        kids = {}
        for p in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/stat" % p) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(p))
        out, todo = [], [self.procs["supervise"].pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo += kids.get(p, [])
        return out

    def kill9(self):
        """SIGKILL to the supervisor and all under it, at once (the
        supervisor first: it restarts nothing)"""
        pids = self.processes()
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.procs["supervise"].wait(10)
        return pids

    def restart(self):
        """started again in its directory, as its supervisor would be: its
        sockproxy's start-up sweep removes what the killed one left"""
        try:
            os.unlink(self.sock)
        except FileNotFoundError:
            pass
        self.procs.clear()
        return self.start_supervised()


class Front:
    """HTTP through HAProxy, with the cluster's key (cwtest's helpers)"""
    conn = Appliance.conn
    request = Appliance.request
    exec = Appliance.exec

    def __init__(self, port, key):
        self.port = port
        self.key = key


class Cluster:
    """N nodes, s3rver (s3=True) and HAProxy on a free port"""

    def __init__(self, n=3, overrides=(), s3=True, isolation=None):
        require_docker()
        check(os.path.exists(HAPROXY), "no %s (./codeward up installs Debian's haproxy)" % HAPROXY)
        self.s3 = None
        self.key = "cw_test_" + secrets.token_urlsafe(24)
        self.dir = tempfile.mkdtemp(prefix="cw-scale-")
        self.nodes = []
        self.hap = None
        self.port = free_port()
        self.front = Front(self.port, self.key)
        self.n = n
        self.overrides = list(overrides)
        self.want_s3 = s3
        self.isolation = isolation

    def start(self):
        try:
            if self.want_s3:
                self.s3 = splib.S3rver(bucket=BUCKET)
            for i in range(1, self.n + 1):
                node = Node("node%d" % i, self.key, self.overrides, s3=self.s3,
                            isolation=self.isolation)
                self.nodes.append(node)
                node.start()
            self.start_haproxy()
        except BaseException:
            self.stop(check_leftovers=False)
            raise
        return self

    def config(self):
        with open(self.nodes[0].policy_path) as f:
            text = f.read()
        timeout = "%ds" % (int(nodes_sh("seconds", policy_get(text, "time", "max"))) + 60)
        servers = ["%s=127.0.0.1:%d" % (n.node, n.port) for n in self.nodes]
        return nodes_sh("haproxy_config", "127.0.0.1:%d" % self.port, timeout,
                        policy_get(text, "concurrency", "connections-per-address"), "", *servers)

    def start_haproxy(self):
        cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(self.config())
        p = subprocess.run([HAPROXY, "-c", "-q", "-f", cfg], capture_output=True, text=True)
        check(p.returncode == 0, "haproxy -c: %s%s" % (p.stdout, p.stderr))
        self.hap_log = open(os.path.join(self.dir, "haproxy.log"), "wb+")
        self.hap = subprocess.Popen([HAPROXY, "-db", "-f", cfg], stdout=self.hap_log,
                                    stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                st, _ = self.front.request("GET", "/v1/health", auth=False)
                if st == 200 and self.all_up():
                    return
            except OSError:
                pass
            check(self.hap.poll() is None and time.time() < deadline,
                  "HAProxy did not come up:\n" + self.log())
            time.sleep(0.2)

    def all_up(self):
        """every node answers its health check directly"""
        for n in self.nodes:
            try:
                if n.request("GET", "/v1/health", auth=False)[0] != 200:
                    return False
            except OSError:
                return False
        return True

    def log(self):
        if self.hap is None:
            return ""
        self.hap_log.flush()
        self.hap_log.seek(0)
        return self.hap_log.read().decode(errors="replace")

    def routed(self):
        """HAProxy's log: (server, status, method and path) per request"""
        out = []
        for line in self.log().splitlines():
            m = re.search(r' nodes/(\S+) \S+ (\d{3}) .*"(\S+ \S+)', line)
            if m:
                out.append((m.group(1), int(m.group(2)), m.group(3)))
        return out

    def stop(self, check_leftovers=True):
        left = []
        if self.hap is not None and self.hap.poll() is None:
            self.hap.terminate()
            self.hap.wait(10)
        for n in self.nodes:
            try:
                n.stop(check_leftovers)
            except Fail as e:
                left.append("%s: %s" % (n.node, e))
            # a node killed and not started again stopped nothing: its
            # containers go by label, as ./codeward down has them go
            for cid in n.leftovers():
                docker_api("DELETE", "/v1.41/containers/%s?force=1&v=1" % cid)
            n.s3_end()
        if self.s3 is not None:
            self.s3.stop()
        check(not left, "; ".join(left))

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        if et is not None:
            self.dump()
        self.stop(check_leftovers=et is None)

    def dump(self):
        """HAProxy's log and each node's privd log's end, on stderr"""
        sys.stderr.write(self.log()[-4000:])
        for n in self.nodes:
            sys.stderr.write(n.log("privd")[-3000:])


class Shared:
    """a module's one cluster, started at its first use; cwtest.main(ns,
    shared) stops it at the end"""

    def __init__(self, *args, **kw):
        self.args, self.kw = args, kw
        self.cluster = None

    def __call__(self):
        if self.cluster is None:
            self.cluster = Cluster(*self.args, **self.kw).start()
        return self.cluster

    def stop(self, check_leftovers=True):
        c, self.cluster = self.cluster, None
        if c is not None:
            c.stop(check_leftovers)


def sha(data):
    return hashlib.sha256(data).hexdigest()
