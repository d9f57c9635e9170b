"""compose/ with Debian's docker-compose on the real engine.

- `./codeward compose setup` (the admin's own path) builds the two appliance
  images from compose/Dockerfile and writes a configuration; every compose
  file, alone or with its overlays, passes `docker-compose config`, and what
  it says is checked: only sockproxy mounts the Docker socket and it has no
  network; both daemons read-only, all capabilities dropped but the few the
  privilege drop needs, no new privileges; LibreChat wired to
  http://codeward:8000/v1 with a token key whose public half is the one
  codeward's policy names, and nothing of LibreChat's mounted into codeward.
  sockproxy is named the workers' seccomp profile its image carries, byte
  for byte jail/seccomp-worker.json, which every policy pins; under
  isolation jail gvisor.policy has jail-runsc-caps (none otherwise).
  (LibreChat's images cannot be pulled here: librechat.yaml is validated,
  not run.)
- The setup run again keeps the admin's edit of a policy; after a rebuilt
  sandbox image it moves only the pin line of each policy, says so and
  keeps the file before as .prev; a policy that does not check stops it.
- The appliance is brought up from the locally built images: a run goes
  through it, /metrics and the audit lines show it, privd killed mid-run is
  restarted by the engine and its sweep removes the orphan, the gVisor
  overlay runs a sandbox under runsc (under isolation jail: its workers
  given the committed profile, and under runsc jail-runsc-caps), and after
  `down -v` nothing of the
  project is left: no container, sandbox, volume or network.

- compose.yaml with scale.yaml passes `docker-compose config` and says:
  three nodes, each with --node and --storeproxy and a sockproxy of its
  own instance and socket volume, hardened as compose.yaml's; the object
  store pinned by release and digest and published nowhere; HAProxy alone
  on the published port; the store's key pair a secret of the nodes, named
  by scale.policy (backend s3), never in it. The codeward image has
  codeward-storeproxy (the only binary linking libcurl) and its user.
  compose/haproxy.cfg passes `haproxy -c` and, run on this host in front
  of three stand-in nodes, routes sessions, programmatic starts and their
  cancels, workspaces and continuations as compose/README.md says. The
  MinIO images cannot be pulled here: scale.yaml is brought up with s3rver
  (npm, in the sandbox image) as its object store, the rest as it is:
  storeproxy as codeward-store in every node, a run's file downloaded
  through all three nodes, and through two when node2's privd is killed;
  programmatic runs' continuations reach the nodes their tokens name.

The project name and the sockproxy instance are unique to the test, so it
never touches anyone else's containers.
"""
import base64
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import yaml

from cwtest import (DOCKER, SOURCE, Fail, check, containers_with_label, docker_api, free_port,
                    main, policy_get, require_docker, sandbox_image_id)
from cwsec import proc_status
from jailprofile import COMMITTED, profile_sum
from opslib import audit_lines, changed_lines, child_image, scrape, wait_for

COMPOSE = "/usr/bin/docker-compose"
OVERLAYS = [(), ("librechat",), ("gvisor",), ("gpu",), ("librechat", "gvisor"),
            ("librechat", "gpu")]
# the workers' seccomp profile in the sockproxy image (compose/Dockerfile)
IMAGE_PROFILE = "/usr/local/share/codeward/seccomp-worker.json"
RUNSC_CAPS = "SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP"


def http_json(port, method, path, body=None, headers=None, timeout=120):
    """one request to 127.0.0.1:port, a JSON body if any: status, raw answer"""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    raw = r.read()
    c.close()
    return r.status, raw


class Stack:
    def __init__(self):
        require_docker()
        tag = secrets.token_hex(4)
        self.project = "cwtest" + tag
        self.instance = "test-compose-" + tag
        self.config = tempfile.mkdtemp(prefix="cw-compose-")
        self.port = free_port()
        self.env = dict(os.environ, CODEWARD_CONFIG=self.config, CODEWARD_INSTANCE=self.instance,
                        CODEWARD_PORT=str(self.port), CODEWARD_SANDBOX_IMAGE=sandbox_image_id(),
                        PATH="/usr/bin:" + os.environ.get("PATH", ""),
                        COMPOSE_DOCKER_CLI_BUILD="0", DOCKER_BUILDKIT="0")
        self.env.pop("CODEWARD_API_KEY", None)
        self.setup_s = None
        self.up = False

    def setup(self):
        t0 = time.time()
        r = subprocess.run([os.path.join(SOURCE, "codeward"), "compose", "setup"], env=self.env,
                           capture_output=True, text=True, timeout=1500)
        check(r.returncode == 0, "compose setup failed:\n%s%s" % (r.stdout, r.stderr[-4000:]))
        self.setup_s = time.time() - t0
        self.said = r.stderr
        self.key = open(os.path.join(self.config, "api-key")).read().strip()
        self.settings = dict(l.split("=", 1) for l in
                             open(os.path.join(self.config, "compose.env")).read().split())
        return self

    def compose(self, *args, overlays=(), timeout=300, ok=True):
        cmd = [COMPOSE, "--env-file", os.path.join(self.config, "compose.env"),
               "-p", self.project, "-f", os.path.join(SOURCE, "compose", "compose.yaml")]
        for o in overlays:
            # an overlay of compose/, or a file of the test's own
            cmd += ["-f", o if os.path.isabs(o) else os.path.join(SOURCE, "compose", o + ".yaml")]
        r = subprocess.run(cmd + list(args), env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if ok:
            check(r.returncode == 0, "docker-compose %s failed:\n%s%s" %
                  (" ".join(args), r.stdout[-3000:], r.stderr[-3000:]))
        return r

    def container(self, service):
        ids = containers_with_label("com.docker.compose.project=" + self.project)
        for cid in ids:
            st, raw = docker_api("GET", "/v1.41/containers/%s/json" % cid)
            j = json.loads(raw)
            if j["Config"]["Labels"].get("com.docker.compose.service") == service:
                return j
        raise Fail("no %s container in project %s" % (service, self.project))

    def request(self, method, path, body=None, auth=True, headers=None):
        st, raw = http_json(self.port, method, path, body,
                            dict(headers or {}, **({"X-API-Key": self.key} if auth else {})))
        return st, (json.loads(raw) if raw and raw[:1] in b"{[" else raw)

    def healthy(self):
        try:
            return self.request("GET", "/v1/health", auth=False)[0] == 200
        except OSError:
            return False

    def logs(self, service):
        return self.compose("logs", "--no-color", service).stdout

    def leftovers(self):
        left = []
        left += ["container " + c for c in containers_with_label("com.docker.compose.project=" + self.project)]
        left += ["sandbox " + c for c in containers_with_label("codeward.instance=" + self.instance)]
        for kind in ("volumes", "networks"):
            filt = json.dumps({"label": ["com.docker.compose.project=" + self.project]})
            from urllib.parse import quote
            st, raw = docker_api("GET", "/v1.41/%s?filters=%s" % (kind, quote(filt)))
            check(st == 200, "list %s: %d" % (kind, st))
            j = json.loads(raw)
            items = j.get("Volumes") or [] if kind == "volumes" else j
            left += ["%s %s" % (kind[:-1], x["Name"]) for x in items]
        return left

    def cleanup(self):
        """Whatever a failed test left: only this project's and instance's."""
        self.compose("down", "-v", "--remove-orphans", overlays=("gvisor",), ok=False)
        for c in containers_with_label("codeward.instance=" + self.instance):
            docker_api("DELETE", "/v1.41/containers/%s?force=1&v=1" % c)
        shutil.rmtree(self.config, ignore_errors=True)


stack = None


def get_stack():
    global stack
    if stack is None:
        stack = Stack().setup()
    return stack


def service(cfg, name):
    check(name in cfg["services"], "no service %s" % name)
    return cfg["services"][name]


def test_setup_writes_the_configuration():
    s = get_stack()
    cw = os.path.join(s.config, "codeward")
    lc = os.path.join(s.config, "librechat")
    check(sorted(os.listdir(cw)) == ["codeward.policy", "gpu.policy", "gvisor.policy",
                                     "jwt-public.pem", "keys", "scale.policy"],
          "codeward/: %r" % os.listdir(cw))
    check(os.stat(os.path.join(cw, "keys")).st_mode & 0o777 == 0o600, "keys mode")
    check(os.stat(lc).st_mode & 0o777 == 0o700, "librechat/ mode")
    for f in os.listdir(lc):
        check(os.stat(os.path.join(lc, f)).st_mode & 0o077 == 0, "%s readable by others" % f)
    check(os.stat(os.path.join(s.config, "api-key")).st_mode & 0o777 == 0o600, "api-key mode")
    # the key file holds the hash, never the key
    check(s.key not in open(os.path.join(cw, "keys")).read(), "the key in clear in keys")
    pol = open(os.path.join(cw, "codeward.policy")).read()
    # pinned on the setting line; a comment may still name the placeholder
    check("\nsandbox         %s\n" % sandbox_image_id() in pol and
          not any("@SANDBOX_IMAGE@" in l.split("#")[0] for l in pol.split("\n")),
          "sandbox image pinned")
    for line in ("mode            api-key+jwt", "jwt-public-key  /etc/codeward/jwt-public.pem"):
        check(line in pol, "policy lacks %r" % line)
    gv = open(os.path.join(cw, "gvisor.policy")).read()
    check("runtime         runsc" in gv and
          ("pids            1024" if policy_get(pol, "sandbox", "isolation") == "jail"
           else "pids            256") in gv, "gvisor")
    check("gpu             all" in open(os.path.join(cw, "gpu.policy")).read(), "gpu")
    # the workers' profile: every policy pins the committed file, the one
    # sockproxy's image carries; runsc under jail with gVisor's caps
    iso = policy_get(pol, "sandbox", "isolation")
    check(iso in ("jail", "container"), "isolation %r" % iso)
    for n in ("codeward.policy", "gvisor.policy", "gpu.policy", "scale.policy"):
        text = open(os.path.join(cw, n)).read()
        check(policy_get(text, "sandbox", "jail-seccomp") == profile_sum(COMMITTED),
              "%s: jail-seccomp %r" % (n, policy_get(text, "sandbox", "jail-seccomp")))
        check(policy_get(text, "sandbox", "isolation") == iso, "%s: isolation" % n)
    check(policy_get(gv, "sandbox", "jail-runsc-caps") == (RUNSC_CAPS if iso == "jail" else "none"),
          "gvisor.policy under %s: jail-runsc-caps %r" % (iso, policy_get(gv, "sandbox", "jail-runsc-caps")))
    r = subprocess.run([DOCKER, "run", "--rm", "--network", "none", "--entrypoint", "/bin/cat",
                        "codeward-sockproxy:" + s.settings["CODEWARD_TAG"], IMAGE_PROFILE],
                       capture_output=True, timeout=120)
    check(r.returncode == 0 and r.stdout == open(COMMITTED, "rb").read(),
          "the sockproxy image's %s is not jail/seccomp-worker.json: %d %r" %
          (IMAGE_PROFILE, r.returncode, r.stderr[-300:]))
    # LibreChat's signing key and codeward's verifying key are one pair
    env = dict(l.split("=", 1) for l in open(os.path.join(lc, "librechat.env")).read().splitlines()
               if l and not l.startswith("#"))
    for k in ("CREDS_KEY", "CREDS_IV", "JWT_SECRET", "JWT_REFRESH_SECRET",
              "CODEAPI_JWT_PRIVATE_KEY_BASE64", "LIBRECHAT_CODE_API_KEY"):
        check(env.get(k), "librechat.env lacks %s" % k)
    check(len(env["CREDS_KEY"]) == 64 and len(env["CREDS_IV"]) == 32, "CREDS sizes")
    check(env["LIBRECHAT_CODE_API_KEY"] == s.key, "the old generation's key")
    priv = base64.b64decode(env["CODEAPI_JWT_PRIVATE_KEY_BASE64"])
    derived = subprocess.run(["openssl", "pkey", "-pubout"], input=priv, capture_output=True,
                             check=True).stdout
    check(derived == open(os.path.join(cw, "jwt-public.pem"), "rb").read(),
          "LibreChat's key is not the pair of codeward's public key")
    text = subprocess.run(["openssl", "pkey", "-pubin", "-in", os.path.join(cw, "jwt-public.pem"),
                           "-text", "-noout"], capture_output=True, text=True, check=True).stdout
    check(text.startswith("ED25519 Public-Key"), "not an Ed25519 SPKI key: %r" % text[:60])
    check(b"PRIVATE" not in b"".join(open(os.path.join(cw, f), "rb").read() for f in os.listdir(cw)
                                     if f != "keys"), "a private key in codeward/")


def test_setup_writes_the_scale_store():
    """scale.yaml's configuration: scale.policy is codeward.policy with
    [store] backend s3 on the overlay's object store and the credentials
    its secret mounts; store/ holds MinIO's root and the nodes' key pair,
    root's, 0600, in the policy's credentials format, the secret in no
    policy."""
    s = get_stack()
    cw, st = os.path.join(s.config, "codeward"), os.path.join(s.config, "store")
    pol = open(os.path.join(cw, "codeward.policy")).read()
    sc = open(os.path.join(cw, "scale.policy")).read()
    for key, want in (("backend", "s3"), ("endpoint", "http://objectstore:9000"),
                      ("bucket", "codeward"), ("credentials", "/run/secrets/codeward-s3")):
        check(policy_get(sc, "store", key) == want, "scale.policy: %s %r" %
              (key, policy_get(sc, "store", key)))
    check(policy_get(pol, "store", "backend") == "local", "codeward.policy's store")
    keys = changed_line_keys(pol, sc)
    check({"backend", "endpoint", "credentials"} <= keys <=
          {"backend", "endpoint", "bucket", "region", "credentials"},
          "scale.policy differs from codeward.policy beyond [store]: %r" % changed_lines(pol, sc))
    check(sorted(os.listdir(st)) == ["objectstore-root", "s3-credentials"], "store/: %r" %
          os.listdir(st))
    check(os.stat(st).st_mode & 0o777 == 0o700, "store/ mode")
    for f in os.listdir(st):
        m = os.stat(os.path.join(st, f))
        check(m.st_mode & 0o777 == 0o600 and m.st_uid == 0, "store/%s: %o uid %d" %
              (f, m.st_mode & 0o777, m.st_uid))
    creds = dict(l.split(" = ", 1) for l in
                 open(os.path.join(st, "s3-credentials")).read().splitlines())
    check(sorted(creds) == ["access_key_id", "secret_access_key"] and
          all(len(v) >= 16 for v in creds.values()), "s3-credentials: %r" % sorted(creds))
    root = open(os.path.join(st, "objectstore-root")).read()
    check(root.startswith("export MINIO_ROOT_USER=") and "\nexport MINIO_ROOT_PASSWORD=" in root,
          "objectstore-root's format")
    # the codeward image: storeproxy, the only binary with libcurl, and its user
    r = subprocess.run([DOCKER, "run", "--rm", "--network", "none", "--entrypoint", "/bin/sh",
                        "codeward:" + s.settings["CODEWARD_TAG"], "-c",
                        "id -u codeward-store && cd /usr/local/sbin && for f in codeward-*; do "
                        "ldd $f | grep -q libcurl && echo $f; done"],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and r.stdout.split() == ["61004", "codeward-storeproxy"],
          "the codeward image's storeproxy and its user: %d %r %r" %
          (r.returncode, r.stdout, r.stderr[-300:]))
    for f in os.listdir(cw):
        text = open(os.path.join(cw, f), "rb").read()
        check(creds["secret_access_key"].encode() not in text and
              root.split("MINIO_ROOT_PASSWORD=")[1].strip().encode() not in text,
              "a store secret in codeward/%s" % f)


def changed_line_keys(a, b):
    """the policy keys on the lines where b differs from a"""
    return {new.split()[0] for _, old, new in changed_lines(a, b) if new.strip()}


def test_scale_overlay_validates():
    """compose.yaml with scale.yaml: three nodes, each with a sockproxy of
    its own instance, hardened as compose.yaml's; the object store image
    pinned by release and digest, published nowhere; HAProxy alone on the
    published port, with compose/haproxy.cfg naming the three nodes; the
    store's credentials a secret of the nodes (the root's of MinIO and
    its init only), named by the policy, never in it or the environment."""
    s = get_stack()
    cfg = yaml.safe_load(s.compose("config", overlays=("scale",)).stdout)
    svcs = cfg["services"]
    nodes = ["node1", "node2", "node3"]
    proxies = ["sockproxy1", "sockproxy2", "sockproxy3"]
    check(sorted(svcs) == sorted(["codeward", "sockproxy", "haproxy", "objectstore",
                                  "objectstore-init"] + nodes + proxies), "services %r" % sorted(svcs))
    # compose.yaml's single appliance is not started
    for name in ("codeward", "sockproxy"):
        check(svcs[name].get("profiles") == ["single"], "%s profiles %r" % (name, svcs[name].get("profiles")))
    published = {n: v["ports"] for n, v in svcs.items() if v.get("ports") and not v.get("profiles")}
    check(published == {"haproxy": ["127.0.0.1:%d:8000/tcp" % s.port]}, "published %r" % published)
    for name, svc in svcs.items():
        socks = [v for v in svc.get("volumes", []) if "docker.sock" in str(v)]
        check(bool(socks) == (name in proxies or name == "sockproxy"), "%s mounts %r" % (name, socks))
    instances = set()
    for i, (node, proxy) in enumerate(zip(nodes, proxies)):
        sp, nd = svcs[proxy], svcs[node]
        argv = sp["entrypoint"] + sp["command"]
        check(argv[0] == "/usr/local/sbin/codeward-sockproxy" and
              argv[argv.index("--jail-seccomp") + 1] == IMAGE_PROFILE, "%s argv %r" % (proxy, argv))
        instances.add(argv[argv.index("--instance") + 1])
        check(sp["network_mode"] == "none", "%s network" % proxy)
        argv = nd["entrypoint"] + nd["command"]
        check(argv[0] == "/usr/local/sbin/codeward-privd" and
              argv[argv.index("--node") + 1] == node and
              argv[argv.index("--storeproxy") + 1] == "/usr/local/sbin/codeward-storeproxy",
              "%s argv %r" % (node, argv))
        for svc, caps in ((sp, {"CHOWN", "SETUID", "SETGID", "KILL"}),
                          (nd, {"SETUID", "SETGID", "KILL"})):
            check(svc["read_only"] is True and svc["cap_drop"] == ["ALL"] and
                  set(svc["cap_add"]) == caps and "no-new-privileges:true" in svc["security_opt"]
                  and svc["init"] is True and not svc.get("privileged"), "%r" % svc)
        # the node's run volume is its sockproxy's and no one else's
        run = {str(v).split(":")[0] for v in nd["volumes"] if ":/run/codeward" in str(v)}
        holders = {n for n, o in svcs.items() for v in o.get("volumes", [])
                   if str(v).split(":")[0] in run}
        check(len(run) == 1 and holders == {node, proxy}, "%s's run volume %r: %r" %
              (node, run, holders))
        for svc in (sp, nd):
            pol = [str(v) for v in svc["volumes"] if ":/etc/codeward/codeward.policy" in str(v)]
            check(len(pol) == 1 and pol[0].split(":")[0] == os.path.join(s.config, "codeward",
                                                                         "scale.policy"),
                  "%s policy %r" % (svc, pol))
        check([x["source"] for x in nd["secrets"]] == ["codeward-s3"], "%s secrets %r" %
              (node, nd["secrets"]))
        check(not any(secrets_in(v) for v in (nd.get("environment") or {}).values()),
              "a store secret in %s's environment" % node)
    check(len(instances) == 3 and all(x.startswith(s.instance + "-") for x in instances),
          "instances %r" % instances)
    check(cfg["secrets"]["codeward-s3"]["file"] == os.path.join(s.config, "store", "s3-credentials")
          and cfg["secrets"]["objectstore-root"]["file"] ==
          os.path.join(s.config, "store", "objectstore-root"), "secrets %r" % cfg["secrets"])
    # the object store: pinned, unpublished, the root's secret only
    import re
    os_, init = svcs["objectstore"], svcs["objectstore-init"]
    for svc in (os_, init):
        check(re.fullmatch(r"quay\.io/minio/(minio|mc):RELEASE\.[0-9TZ-]+@sha256:[0-9a-f]{64}",
                           svc["image"]), "not pinned by release and digest: %r" % svc["image"])
    check([x["source"] for x in os_["secrets"]] == ["objectstore-root"] and
          os_["environment"]["MINIO_CONFIG_ENV_FILE"] == "/run/secrets/objectstore-root",
          "objectstore's secrets %r" % os_)
    check(sorted(x["source"] for x in init["secrets"]) == ["codeward-s3", "objectstore-root"],
          "objectstore-init's secrets")
    check("store/codeward" in init["command"][0], "objectstore-init makes another bucket")
    for node in nodes:
        dep = svcs[node]["depends_on"]
        check(dep["objectstore-init"]["condition"] == "service_completed_successfully",
              "%s starts before the bucket: %r" % (node, dep))
    # HAProxy: built here, its configuration mounted, no capability
    hp = svcs["haproxy"]
    check(hp["build"]["target"] == "haproxy" and hp["image"].startswith("codeward-haproxy:"),
          "haproxy image %r" % hp)
    check(hp["volumes"] == [os.path.join(SOURCE, "compose", "haproxy.cfg") +
                            ":/etc/haproxy/haproxy.cfg:ro"], "haproxy volumes %r" % hp["volumes"])
    check(hp["user"] == "haproxy" and hp["cap_drop"] == ["ALL"] and not hp.get("cap_add") and
          hp["read_only"] is True, "haproxy %r" % hp)
    servers = re.findall(r"^\tserver (\S+) (\S+)$", open(HAPROXY_CFG).read(), re.M)
    check(servers == [(n, n + ":8000") for n in nodes], "haproxy.cfg servers %r" % servers)


S3RVER_DIR = os.environ.get("CODEWARD_S3RVER", "/var/cache/codeward/s3rver")

# MinIO cannot be pulled here: the object store of scale.yaml replaced by
# s3rver (npm) in the sandbox image, which has node; its bucket made by
# s3rver itself, its one key pair the nodes' secret. Everything else is
# scale.yaml as it is.
STAND_IN = """
services:
  objectstore:
    image: %(image)s
    entrypoint: [node, --openssl-legacy-provider, /s3rver/node_modules/s3rver/bin/s3rver.js]
    # path-style only: the host name objectstore is not a bucket's
    command: [-d, /tmp/s3, -a, 0.0.0.0, -p, "9000", -s, --no-vhost-buckets,
              --configure-bucket, codeward]
    volumes:
      - %(s3rver)s:/s3rver:ro
    healthcheck:
      test: ["CMD", "node", "-e", "require('net').connect(9000, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))"]
  objectstore-init:
    image: %(image)s
    entrypoint: ["/bin/true"]
secrets:
  codeward-s3:
    file: %(creds)s
"""


def test_scale_up_with_a_stand_in_store():
    """scale.yaml brought up, its object store replaced by s3rver: HAProxy
    healthy on the published port; in each node privd started
    codeward-storeproxy as codeward-store; a file a run wrote through one
    node is downloaded byte-exact through all three, and through the other
    two at once when node2's privd is killed with SIGKILL; programmatic
    runs complete, each continuation on the node its token names whatever
    its request id; `down -v` leaves nothing of the project or of the
    nodes' instances."""
    s = get_stack()
    check(os.path.exists(os.path.join(S3RVER_DIR, "node_modules", "s3rver", "bin", "s3rver.js")),
          "s3rver is not installed in %s (./codeward test installs it)" % S3RVER_DIR)
    d = tempfile.mkdtemp(prefix="cw-scale-", dir=s.config)
    creds = os.path.join(d, "s3-credentials")
    with open(os.open(creds, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write("access_key_id = S3RVER\nsecret_access_key = S3RVER\n")
    extra = os.path.join(d, "stand-in.yaml")
    with open(extra, "w") as f:
        f.write(STAND_IN % {"image": sandbox_image_id(), "s3rver": S3RVER_DIR, "creds": creds})
    ov = ("scale", extra)
    instances = [s.instance + "-node%d" % i for i in (1, 2, 3)]
    try:
        t0 = time.time()
        s.compose("up", "-d", overlays=ov, timeout=900)
        wait_for("HAProxy answering healthy", s.healthy, 180)
        for n in ("node1", "node2", "node3"):
            wait_for("%s healthy" % n, lambda: s.container(n)["State"].get("Health", {})
                     .get("Status") == "healthy", 120)
        print("measured: scale up to healthy %.1f s" % (time.time() - t0))
        # each node: privd's storeproxy, as codeward-store
        for n in ("node1", "node2", "node3"):
            c = s.container(n)
            privd = children(c["State"]["Pid"])
            check(len(privd) == 1, "%s: privd %r" % (n, privd))
            kids = children(privd[0])
            sp = [k for k in kids if os.readlink("/proc/%d/exe" % k).endswith(
                "/codeward-storeproxy")]
            check(len(sp) == 1 and proc_status(sp[0])["Uid"].split() == ["61004"] * 4 and
                  int(proc_status(sp[0])["CapEff"], 16) == 0,
                  "%s: storeproxy %r" % (n, [proc_status(k)["Uid"] for k in sp]))
        # a file written through one node, read through every node
        data = secrets.token_hex(4096)
        st, j = s.request("POST", "/v1/exec", {"lang": "py", "code":
                          "open('/mnt/data/out.txt','w').write(%r)\nprint('ok')" % data})
        check(st == 200 and j.get("stdout") == "ok\n" and len(j["files"]) == 1,
              "exec through HAProxy: %s %r" % (st, j))
        path = "/v1/download/%s/%s" % (j["session_id"], j["files"][0]["id"])
        for _ in range(6):
            st, body = s.request("GET", path)
            check(st == 200 and body == data.encode(), "download: %s %r" % (st, body[:100]))
        # HAProxy's log says which node answered each
        lines = [l for l in s.compose("logs", "--no-color", "haproxy", overlays=ov).stdout
                 .splitlines() if "GET %s " % path in l]
        nodes = {n for n in ("node1", "node2", "node3") for l in lines if "nodes/%s " % n in l}
        check(nodes == {"node1", "node2", "node3"}, "downloads served by %r" % nodes)
        # programmatic runs: each continuation carries a request id of its
        # own (so the hash alone would scatter them) and reaches the node
        # its token names, which the balancer's log shows
        add = {"name": "add", "description": "add", "parameters": {"type": "object", "properties": {
            "a": {"type": "number"}, "b": {"type": "number"}}}}
        code = "x = await add(a=1, b=2)\ny = await add(a=x, b=10)\nprint('sum', y)\n"
        named = []
        for _ in range(4):
            st, j = s.request("POST", "/v1/exec/programmatic", {"code": code, "tools": [add]},
                              headers={"X-LibreChat-Code-Request-ID": secrets.token_hex(8)})
            while st == 200 and j.get("status") == "tool_call_required":
                eid = json.loads(base64.b64decode(j["continuation_token"]))["execution_id"]
                named.append(eid.split("-")[0])
                res = [{"call_id": c["id"], "result": c["input"]["a"] + c["input"]["b"],
                        "is_error": False} for c in j["tool_calls"]]
                st, j = s.request("POST", "/v1/exec/programmatic",
                                  {"continuation_token": j["continuation_token"], "tool_results": res},
                                  headers={"X-LibreChat-Code-Request-ID": secrets.token_hex(8)})
            check(st == 200 and j.get("status") == "completed" and j["stdout"] == "sum 13\n",
                  "a programmatic run through HAProxy: %s %r" % (st, j))
        check(len(named) == 8 and set(named) <= {"node1", "node2", "node3"},
              "the tokens' nodes %r" % named)
        cont = [l for l in s.compose("logs", "--no-color", "haproxy", overlays=ov).stdout
                .splitlines() if "POST /v1/exec/programmatic " in l]
        check(len(cont) == 12 and all("nodes/%s " % named[2 * k + i] in cont[3 * k + 1 + i]
                                      for k in range(4) for i in range(2)),
              "continuations not on their tokens' nodes %r: %r" % (named, cont))

        # node2's privd killed: the file is still served, at once, by the
        # others; the engine brings node2 back
        c = s.container("node2")
        os.kill(children(c["State"]["Pid"])[0], signal.SIGKILL)
        for _ in range(6):
            st, body = s.request("GET", path)
            check(st == 200 and body == data.encode(), "download with node2 killed: %s %r" %
                  (st, body[:100]))
        wait_for("node2 restarted", lambda: s.container("node2")["RestartCount"] >= 1, 60)
        wait_for("node2 healthy again", lambda: s.container("node2")["State"].get(
            "Health", {}).get("Status") == "healthy", 120)
    except Exception:
        for n in ("node1", "haproxy", "objectstore"):
            print(s.compose("logs", "--no-color", n, overlays=ov, ok=False).stdout[-3000:])
        raise
    finally:
        s.compose("down", "-v", overlays=ov, ok=False)
        shutil.rmtree(d, ignore_errors=True)
    left = s.leftovers() + ["sandbox " + c for i in instances
                            for c in containers_with_label("codeward.instance=" + i)]
    check(not left, "left after down -v: %r" % left)


def secrets_in(value):
    """1 when a value holds a key or password of store/"""
    st = os.path.join(stack.config, "store")
    text = open(os.path.join(st, "s3-credentials")).read() + open(
        os.path.join(st, "objectstore-root")).read()
    words = {w.split("=")[-1] for w in text.split() if len(w.split("=")[-1]) >= 16}
    return any(w in str(value) for w in words)


def test_setup_again_keeps_the_admins_policies():
    """compose setup writes each policy once: run again, it keeps an edit;
    after a rebuilt sandbox image it moves only the pins, says so, keeps
    the file before as .prev; a policy that does not check stops it."""
    s = get_stack()
    cw = os.path.join(s.config, "codeward")
    names = ("codeward.policy", "gvisor.policy", "gpu.policy", "scale.policy")
    orig = {n: open(os.path.join(cw, n)).read() for n in names}
    img, child = sandbox_image_id(), None
    try:
        edited = orig["codeward.policy"].replace("\nmemory          512M ", "\nmemory          256M ")
        check(edited != orig["codeward.policy"], "no memory line to edit")
        with open(os.path.join(cw, "codeward.policy"), "w") as f:
            f.write(edited)
        s.setup()
        now = {n: open(os.path.join(cw, n)).read() for n in names}
        check(now == dict(orig, **{"codeward.policy": edited}), "setup rewrote a policy")
        check(not [f for f in os.listdir(cw) if f.endswith(".prev")], "a .prev with no rebuild")
        child = child_image(img, "codeward.test=" + s.instance)
        s.env["CODEWARD_SANDBOX_IMAGE"] = child
        s.setup()
        for n in names:
            path = os.path.join(cw, n)
            line = now[n].split("\n").index("sandbox         " + img) + 1
            check(changed_lines(now[n], open(path).read()) ==
                  [(line, "sandbox         " + img, "sandbox         " + child)],
                  "%s: %r" % (n, changed_lines(now[n], open(path).read())))
            check(open(path + ".prev").read() == now[n], "%s.prev" % n)
            check("%s:%d: sandbox %s -> %s" % (path, line, img, child) in s.said,
                  "setup did not say %s's pin: %r" % (n, s.said))
        broken = edited.replace("\nmemory          256M ", "\nmemory          256MB")
        with open(os.path.join(cw, "codeward.policy"), "w") as f:
            f.write(broken)
        r = subprocess.run([os.path.join(SOURCE, "codeward"), "compose", "setup"], env=s.env,
                           capture_output=True, text=True, timeout=600)
        line = broken.split("\n").index([l for l in broken.split("\n") if "256MB" in l][0]) + 1
        check(r.returncode != 0 and "%s:%d: '256MB'" % (os.path.join(cw, "codeward.policy"), line)
              in r.stderr, "setup on a broken policy: %d %r" % (r.returncode, r.stderr[-2000:]))
    finally:
        s.env["CODEWARD_SANDBOX_IMAGE"] = img
        for n in names:
            with open(os.path.join(cw, n), "w") as f:
                f.write(orig[n])
            if os.path.exists(os.path.join(cw, n + ".prev")):
                os.unlink(os.path.join(cw, n + ".prev"))
        if child:
            subprocess.run([DOCKER, "rmi", child], capture_output=True)


def test_every_compose_file_validates():
    s = get_stack()
    for ov in OVERLAYS:
        r = s.compose("config", overlays=ov)
        cfg = yaml.safe_load(r.stdout)
        sp, cw = service(cfg, "sockproxy"), service(cfg, "codeward")
        # only sockproxy holds the Docker socket, and it has no network
        for name, svc in cfg["services"].items():
            socks = [v for v in svc.get("volumes", []) if "docker.sock" in str(v)]
            check(bool(socks) == (name == "sockproxy"), "%s %r mounts %r" % (ov, name, socks))
        check(sp["network_mode"] == "none", "sockproxy network %r" % sp.get("network_mode"))
        cmd = sp["command"]
        check("--jail-seccomp" in cmd and cmd[cmd.index("--jail-seccomp") + 1] == IMAGE_PROFILE,
              "%r: sockproxy's command %r" % (ov, cmd))
        for svc, caps in ((sp, {"CHOWN", "SETUID", "SETGID", "KILL"}),
                          (cw, {"SETUID", "SETGID", "KILL"})):
            check(svc["read_only"] is True, "read_only")
            check(svc["cap_drop"] == ["ALL"], "cap_drop %r" % svc["cap_drop"])
            check(set(svc["cap_add"]) == caps, "cap_add %r" % svc["cap_add"])
            check("no-new-privileges:true" in svc["security_opt"], "no-new-privileges")
            check(svc["init"] is True, "init")
            check(not svc.get("privileged"), "privileged")
        check(cw["ports"] == ["127.0.0.1:%d:8000/tcp" % s.port], "codeward's port %r" % cw["ports"])
        mounts = [v if isinstance(v, str) else "%s:%s" % (v.get("source"), v["target"])
                  for v in cw["volumes"]]
        check(any(m.endswith(":/etc/codeward:ro") or "/etc/codeward" in m for m in mounts),
              "codeward's configuration %r" % mounts)
        check(not any("librechat" in m for m in mounts), "LibreChat's secrets in codeward: %r" % mounts)
        want = "codeward.policy"
        if "gvisor" in ov:
            want = "gvisor.policy"
        if "gpu" in ov:
            want = "gpu.policy"
        for svc in (sp, cw):
            pol = [m for m in (str(v) for v in svc["volumes"]) if "/etc/codeward/codeward.policy" in m]
            if svc is cw and want == "codeward.policy":
                continue        # read from the mounted directory
            check(pol and pol[-1].split(":")[0].endswith("/codeward/" + want),
                  "%r: policy mount %r" % (ov, pol))
        if "librechat" in ov:
            api = service(cfg, "api")
            env = api["environment"]
            check(env["LIBRECHAT_CODE_BASEURL"] == "http://codeward:8000/v1", "base URL %r" % env)
            check(env["CODEAPI_AUTH_PROVIDER"] == "librechat-jwt" and
                  env["CODEAPI_JWT_ALGORITHM"] == "EdDSA" and env["CODEAPI_JWT_ISSUER"] == "librechat"
                  and env["CODEAPI_JWT_AUDIENCE"] == "codeapi" and
                  int(env["CODEAPI_JWT_TTL_SECONDS"]) <= 300, "token settings %r" % env)
            # env_file is merged into environment by `config`: the secrets arrive
            check(env.get("CODEAPI_JWT_PRIVATE_KEY_BASE64") and env.get("CREDS_KEY") and
                  env.get("MEILI_MASTER_KEY"), "LibreChat's secrets")
            check(env["MONGO_URI"].startswith("mongodb://mongodb:") and
                  env["MEILI_HOST"] == "http://meilisearch:7700", "database wiring %r" % env)
            check("codeward" in api["depends_on"], "api depends on codeward")
            for db in ("mongodb", "meilisearch"):
                check(not service(cfg, db).get("ports"), "%s is published" % db)
            check(not service(cfg, "meilisearch")["environment"].get("CREDS_KEY"),
                  "Meilisearch got LibreChat's secrets")
    # and docker-compose refuses a file that is wrong: the check can fail
    bad = os.path.join(s.config, "bad.yaml")
    with open(bad, "w") as f:
        f.write("services:\n  codeward:\n    cap_add: 5\n")
    r = subprocess.run([COMPOSE, "--env-file", os.path.join(s.config, "compose.env"), "-p", s.project,
                        "-f", os.path.join(SOURCE, "compose", "compose.yaml"), "-f", bad, "config", "-q"],
                       env=s.env, capture_output=True, text=True, timeout=60)
    check(r.returncode != 0, "docker-compose accepted a wrong file")


HAPROXY = "/usr/sbin/haproxy"
HAPROXY_CFG = os.path.join(SOURCE, "compose", "haproxy.cfg")


class FakeNodes:
    """Three HTTP servers standing in for node1..node3: each answers its
    name, counts what it was sent, and can be made unhealthy or to drop a
    request unanswered (as a node killed mid-run does)."""

    def __init__(self):
        import http.server
        import threading
        self.seen = {}
        self.down = set()
        self.drop = set()
        self.servers = {}
        nodes = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def answer(self):
                name = self.server.node
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                if self.path == "/v1/health":
                    st = 503 if name in nodes.down else 200
                else:
                    nodes.seen.setdefault(name, []).append((self.command, self.path, body))
                    if name in nodes.drop:
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    st = 200
                out = json.dumps({"node": name}).encode()
                self.send_response(st)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
            do_GET = do_POST = answer

        for name in ("node1", "node2", "node3"):
            srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
            srv.node = name
            srv.daemon_threads = True
            srv.handle_error = lambda *a: None    # a health check cut short
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            self.servers[name] = srv

    def port(self, name):
        return self.servers[name].server_address[1]

    def close(self):
        for srv in self.servers.values():
            srv.shutdown()
            srv.server_close()


def haproxy_for(nodes, port, d):
    """compose/haproxy.cfg as it is, but for its listener and its three
    servers' addresses (the compose network's names are not on this host)"""
    text = open(HAPROXY_CFG).read()
    check("\tbind :8000\n" in text, "haproxy.cfg: no bind :8000")
    text = text.replace("\tbind :8000\n", "\tbind 127.0.0.1:%d\n" % port)
    for name in ("node1", "node2", "node3"):
        line = "\tserver %s %s:8000\n" % (name, name)
        check(line in text, "haproxy.cfg: no %r" % line)
        text = text.replace(line, "\tserver %s 127.0.0.1:%d\n" % (name, nodes.port(name)))
    cfg = os.path.join(d, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(text)
    return cfg


# what compose/haproxy.cfg is: the one template rendered for scale.yaml
COMPOSE_HAPROXY_RENDER = ('TOP="$1"; . "$TOP/scripts/nodes.sh"; HAPROXY_RESOLVER=127.0.0.11:53 '
                          'haproxy_config :8000 200s 64 "" node1=node1:8000 node2=node2:8000 '
                          'node3=node3:8000')


def test_haproxy_cfg_is_the_template_rendered():
    """compose/haproxy.cfg is scripts/haproxy.cfg.in rendered for the
    compose services (one routing for both topologies, never two that
    drift): render it again and compare"""
    r = subprocess.run(["bash", "-c", COMPOSE_HAPROXY_RENDER, "render", SOURCE],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "render: %s" % r.stderr)
    check(r.stdout == open(HAPROXY_CFG).read(),
          "compose/haproxy.cfg is not scripts/haproxy.cfg.in rendered; make it again with: "
          "bash -c '%s' render . > compose/haproxy.cfg" % COMPOSE_HAPROXY_RENDER)


def test_haproxy_cfg_checks():
    """haproxy -c says compose/haproxy.cfg is valid (the nodes' names do not
    resolve here: a warning, the servers start without an address), and
    refuses a broken one: the check can fail."""
    r = subprocess.run([HAPROXY, "-c", "-f", HAPROXY_CFG], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0 and "Configuration file is valid" in r.stdout,
          "haproxy -c: %d %s%s" % (r.returncode, r.stdout, r.stderr))
    alerts = [l for l in r.stderr.splitlines() if "ALERT" in l or
              ("WARNING" in l and "could not resolve address" not in l)]
    check(not alerts, "haproxy -c: %r" % alerts)
    d = tempfile.mkdtemp(prefix="cw-haproxy-")
    try:
        bad = os.path.join(d, "bad.cfg")
        with open(bad, "w") as f:
            f.write(open(HAPROXY_CFG).read().replace("balance hash var(txn.key)",
                                                     "balance hash var(txn.key"))
        r = subprocess.run([HAPROXY, "-c", "-f", bad], capture_output=True, text=True, timeout=60)
        check(r.returncode != 0, "haproxy -c accepted a broken file")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_haproxy_routes_by_what_requests_carry():
    """compose/haproxy.cfg run on this host in front of three fake nodes: a
    session hint, a programmatic start's request id and its cancel's,
    a workspace, each always reach one node; a continuation reaches the
    node its token names; the rest is spread; a node marked down is
    skipped and moves no other key; a POST a node drops is answered 502
    by the balancer and never sent again."""
    nodes = FakeNodes()
    d = tempfile.mkdtemp(prefix="cw-haproxy-")
    port = free_port()
    proc = subprocess.Popen([HAPROXY, "-db", "-f", haproxy_for(nodes, port, d)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def send(method, path, body=None, headers=None):
            st, out = http_json(port, method, path, body, headers, timeout=30)
            return st, (json.loads(out)["node"] if st == 200 else out)

        def all_up():
            try:
                return send("GET", "/v1/health")[0] == 200 and len(
                    {send("GET", "/v1/files/s%d" % i)[1] for i in range(6)}) == 3
            except OSError:
                return False
        wait_for("haproxy with three healthy nodes", all_up, 30)

        def token(node, rid=None):
            j = {"execution_id": "%s-%s" % (node, rid or secrets.token_hex(16)), "ts": 1}
            return base64.b64encode(json.dumps(j).encode()).decode()

        def hinted(hint):
            return send("POST", "/v1/exec", {"lang": "py", "code": "x" * 70000,
                                              "runtime_session_hint": hint})[1]
        hints = {"hint-%d" % i: hinted("hint-%d" % i) for i in range(24)}
        check(len(set(hints.values())) >= 2, "24 hints all on one node: %r" % hints)
        for h, n in hints.items():
            check(hinted(h) == n, "hint %s moved" % h)
        # a programmatic start and its cancel meet, whatever else they carry
        for i in range(12):
            rid = "req-%d" % i
            st, n = send("POST", "/v1/exec/programmatic", {"code": "1", "tools": []},
                         {"X-LibreChat-Code-Request-ID": rid,
                          "X-LibreChat-Code-Workspace-ID": "ws-%d" % (i % 2)})
            check(st == 200, "start %s: %s" % (rid, st))
            for _ in range(2):
                check(send("POST", "/v1/exec/programmatic/cancel", {"request_id": rid})[1] == n,
                      "the cancel of %s went elsewhere than its start (%s)" % (rid, n))
        for ws in ("ws-a", "ws-b", "ws-c"):
            ns = {send("POST", "/v1/exec/programmatic", {"code": "1"},
                       {"X-LibreChat-Code-Workspace-ID": ws})[1] for _ in range(4)}
            check(len(ns) == 1, "workspace %s on %r" % (ws, ns))
        # a continuation: the node in its token, whatever the other keys say
        for node in ("node1", "node2", "node3", "node2", "node3", "node1"):
            body = {"continuation_token": token(node), "tool_results": [{"x": "y" * 50000}]}
            check(send("POST", "/v1/exec/programmatic", body,
                       {"X-LibreChat-Code-Request-ID": "req-0"})[1] == node,
                  "continuation for %s" % node)
        # what carries nothing is spread
        spread = {send("GET", "/v1/download/s%d/f" % i)[1] for i in range(9)}
        check(len(spread) == 3, "downloads on %r" % spread)

        # node2 unhealthy: skipped, its keys move, no other key does
        nodes.down.add("node2")
        wait_for("node2 marked down", lambda: all(
            send("GET", "/v1/files/x%d" % i)[1] != "node2" for i in range(6)), 30)
        for h, n in hints.items():
            now = hinted(h)
            check(now != "node2" and (n == "node2" or now == n),
                  "hint %s: %s before, %s with node2 down" % (h, n, now))
        check(send("POST", "/v1/exec/programmatic", {"continuation_token": token("node2")},
                   {})[1] != "node2", "a continuation for a down node")
        nodes.down.clear()
        wait_for("node2 back", lambda: hinted([h for h, n in hints.items()
                                               if n == "node2"][0]) == "node2", 30)

        # a node that drops a run unanswered: 502 from the balancer, sent once
        nodes.drop.add("node3")
        h3 = [h for h, n in hints.items() if n == "node3"][0]
        before = len(nodes.seen.get("node3", []))
        st, out = send("POST", "/v1/exec", {"lang": "py", "code": "1",
                                             "runtime_session_hint": h3})
        check(st == 502, "a dropped run answered %s %r" % (st, out))
        time.sleep(1)
        check(len(nodes.seen["node3"]) == before + 1 and
              sum(1 for n, reqs in nodes.seen.items() for r in reqs[-1:]
                  if n != "node3" and b'"%s"' % h3.encode() in r[2]) == 0,
              "the dropped POST was sent again: %r" % [(n, len(v)) for n, v in nodes.seen.items()])
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        nodes.close()
        shutil.rmtree(d, ignore_errors=True)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def librechat_token(s, sub, key_pem=None):
    """A Code API token as LibreChat mints it (EdDSA, its claims), signed
    with the private key the setup gave LibreChat (or another key)."""
    if key_pem is None:
        env = dict(l.split("=", 1) for l in
                   open(os.path.join(s.config, "librechat", "librechat.env")).read().splitlines()
                   if l and not l.startswith("#"))
        key_pem = base64.b64decode(env["CODEAPI_JWT_PRIVATE_KEY_BASE64"])
    now = int(time.time())
    header = {"alg": "EdDSA", "typ": "JWT", "kid": "codeward-1"}
    claims = {"iss": "librechat", "aud": "codeapi", "sub": sub, "iat": now, "nbf": now,
              "exp": now + 300, "jti": secrets.token_hex(16), "tenant_id": "legacy",
              "role": "USER", "principal_source": "librechat_jwt"}
    msg = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
    d = tempfile.mkdtemp(prefix="cw-jwt-")
    try:
        kp, mp = os.path.join(d, "k"), os.path.join(d, "m")
        with open(os.open(kp, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(key_pem)
        with open(mp, "wb") as f:
            f.write(msg)
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", kp, "-in", mp],
                             check=True, capture_output=True).stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return msg.decode() + "." + b64u(sig)


def check_sandboxes(s, runtime):
    """Under isolation jail each of the instance's containers is a worker
    with the committed profile as its seccomp= entry (under runsc with
    gVisor's caps for the jail's helper); under container none has one."""
    jail = policy_get(open(os.path.join(s.config, "codeward", "codeward.policy")).read(),
                      "sandbox", "isolation") == "jail"
    want = json.load(open(COMMITTED))
    ids = containers_with_label("codeward.instance=" + s.instance)
    check(ids, "no sandbox of instance %s" % s.instance)
    for cid in ids:
        st, raw = docker_api("GET", "/v1.41/containers/%s/json" % cid)
        if st == 404:
            continue        # removed meanwhile
        hc = json.loads(raw)["HostConfig"]
        prof = [o for o in hc["SecurityOpt"] or [] if o.startswith("seccomp=")]
        check(hc["Runtime"] == runtime, "%s: runtime %r" % (cid[:12], hc["Runtime"]))
        if not jail:
            check(not prof, "%s: a seccomp= entry under isolation container" % cid[:12])
            continue
        check(len(prof) == 1 and json.loads(prof[0][len("seccomp="):]) == want,
              "%s: not the committed profile" % cid[:12])
        caps = sorted(hc["CapAdd"] or [])
        check(caps == (sorted("CAP_" + c for c in RUNSC_CAPS.split(",")) if runtime == "runsc"
                       else []),
              "%s under %s: CapAdd %r" % (cid[:12], runtime, caps))


def children(pid):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                fields = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(p))
    return out


def test_appliance_up_run_kill_gvisor_down():
    s = get_stack()
    try:
        t0 = time.time()
        s.compose("up", "-d")
        wait_for("codeward healthy", s.healthy, 120)
        up_s = time.time() - t0
        print("measured: setup %.1f s, up to healthy %.1f s" % (s.setup_s, up_s))

        # a run through the published port
        st, j = s.request("POST", "/v1/exec", {"lang": "py", "code": "print(6*7)"})
        check(st == 200 and j["stdout"] == "42\n", "exec %s %r" % (st, j))
        m = scrape(s.port, s.key)
        check(m.get("codeward_executions_total", lang="py", outcome="ok") == 1, "py ok counted")
        check(m.get("codeward_sockproxy_up") == 1, "sockproxy up")
        lines = audit_lines(s.logs("codeward"), "exec")
        check(len(lines) == 1 and lines[0]["status"] == "ok" and lines[0]["lang"] == "py",
              "audit lines %r" % lines)
        check(lines[0]["image"] == sandbox_image_id(), "the pinned image ran")
        check_sandboxes(s, "runc")

        # what LibreChat (0.8.6 and later) sends: its own Code API token,
        # checked with the public half the setup gave codeward
        user = "6650f1c2a1b2c3d4e5f60718"
        for token, want in ((librechat_token(s, user), 200),
                            (librechat_token(s, user, subprocess.run(
                                ["openssl", "genpkey", "-algorithm", "ed25519"],
                                capture_output=True, check=True).stdout), 401)):
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=120)
            c.request("POST", "/v1/exec", body=json.dumps({"lang": "bash", "code": "echo jwt"}),
                      headers={"Authorization": "Bearer " + token,
                               "Content-Type": "application/json"})
            r = c.getresponse()
            raw = r.read()
            c.close()
            check(r.status == want, "LibreChat's token answered %d, want %d: %r" %
                  (r.status, want, raw[:200]))
        lines = audit_lines(s.logs("codeward"), "exec")
        check(lines[-1]["user"] == user and lines[-1]["lang"] == "bash",
              "the token's sub is the run's user: %r" % lines[-1])

        # what the containers really are
        cw, sp = s.container("codeward"), s.container("sockproxy")
        for c, caps in ((cw, ["SETUID", "SETGID", "KILL"]), (sp, ["CHOWN", "SETUID", "SETGID", "KILL"])):
            hc = c["HostConfig"]
            check(hc["ReadonlyRootfs"] and hc["CapDrop"] == ["ALL"] and
                  sorted(hc["CapAdd"]) == sorted(caps) and
                  "no-new-privileges:true" in hc["SecurityOpt"] and hc["Init"], "%r" % hc)
            socks = [x for x in c["Mounts"] if "docker.sock" in x.get("Source", "")]
            check(bool(socks) == (c is sp), "docker.sock mounts %r" % socks)
        check(sp["HostConfig"]["NetworkMode"] == "none", "sockproxy network")
        # the daemons inside run as their own users, with no capability left
        init = cw["State"]["Pid"]
        privd = children(init)
        check(len(privd) == 1, "privd under the container's init: %r" % privd)
        # privd's two children: frontd and its policy reader (SECURITY.md)
        kids = children(privd[0])
        comm = {k: open("/proc/%d/comm" % k).read().strip() for k in kids}
        frontd = [k for k in kids if comm[k] != "cw-policy-read"]
        reader = [k for k in kids if comm[k] == "cw-policy-read"]
        check(len(frontd) == 1 and len(reader) == 1, "privd's children: %r" % comm)
        for pid, uid in ((privd[0], "61001"), (frontd[0], "61002"), (reader[0], "61001")):
            st_ = proc_status(pid)
            check(st_["Uid"].split() == [uid] * 4 and int(st_["CapEff"], 16) == 0 and
                  int(st_["CapPrm"], 16) == 0 and st_["NoNewPrivs"] == "1" and
                  st_["Seccomp"] == "2", "process %d: %r" % (pid, st_))
        sproxy = children(sp["State"]["Pid"])
        check(len(sproxy) == 1 and proc_status(sproxy[0])["Uid"].split() == ["61003"] * 4,
              "sockproxy's user")

        # privd killed mid-run: the engine restarts the container, the sweep
        # removes the sandbox the dead run left
        out = {}

        def long_run():
            try:
                out["a"] = s.request("POST", "/v1/exec", {"lang": "bash", "code": "sleep 60"})
            except OSError as e:
                out["e"] = e
        import threading
        threading.Thread(target=long_run, daemon=True).start()

        def run_sandbox():
            # the sandbox of the exec: the one a bash exec runs in, not the pool's
            for cid in containers_with_label("codeward.instance=" + s.instance):
                st_, raw = docker_api("GET", "/v1.41/containers/%s/top" % cid)
                if st_ == 200 and any("sleep" in " ".join(p) for p in json.loads(raw)["Processes"]):
                    return cid
            return None
        orphan = wait_for("the run's sandbox", run_sandbox, 30)
        os.kill(privd[0], signal.SIGKILL)
        wait_for("codeward restarted", lambda: s.container("codeward")["RestartCount"] >= 1, 60)
        wait_for("codeward healthy again", s.healthy, 60)
        wait_for("the orphan swept",
                 lambda: docker_api("GET", "/v1.41/containers/%s/json" % orphan)[0] == 404, 30)
        check("resync_sweep: removed leftover sandbox %s" % orphan[:12] in s.logs("codeward"),
              "no sweep line")
        m = scrape(s.port, s.key)
        check(m.get("codeward_sandboxes_swept_total") >= 1, "swept counter")

        # the gVisor overlay: the daemons restart with gvisor.policy
        s.compose("up", "-d", overlays=("gvisor",))
        wait_for("codeward healthy under the gVisor policy",
                 lambda: s.healthy() and "gvisor.policy" in json.dumps(s.container("codeward")["Mounts"]), 120)
        st, j = s.request("POST", "/v1/exec", {"lang": "bash", "code": "dmesg | head -1"})
        check(st == 200 and "gVisor" in j["stdout"], "not under gVisor: %s %r" % (st, j))
        lines = [x for x in audit_lines(s.logs("codeward"), "exec") if x["lang"] == "bash"
                 and x["status"] == "ok"]
        check(lines and lines[-1]["limits"]["runtime"] == "runsc", "audit runtime %r" % lines[-1:])
        check_sandboxes(s, "runsc")

        # down: nothing of the project is left, sandboxes included
        t0 = time.time()
        s.compose("down", "-v", overlays=("gvisor",))
        print("measured: down %.1f s" % (time.time() - t0))
        left = s.leftovers()
        check(not left, "left after down -v: %r" % left)
    except Exception:
        # what the daemons said, before the cleanup takes it away
        print(s.logs("codeward")[-6000:])
        print(s.logs("sockproxy")[-3000:])
        raise


if __name__ == "__main__":
    try:
        main(globals())
    finally:
        if stack is not None:
            stack.cleanup()
