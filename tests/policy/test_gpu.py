"""GPU, network and runtime settings at sockproxy's own socket, on the real
engine: sockproxy must refuse what the policy does not allow even when the
request comes from privd's side, and what it allows must be what the engine
builds (read back with the engine's own inspect).

No GPU exists on the test machines: these tests check the request, not the
device. A container asking for a GPU is created but cannot start, so it is
inspected after create and removed.

No Docker engine: every test fails, none is skipped.
"""
import json
import socket
import time

from cwtest import Appliance, check, docker_api, main
from sandboxes import jail_settle, stop_after_failure

apps = {}


def appliance(gpu, runtime="runc"):
    key = (gpu, runtime)
    if key not in apps:
        # no warm pool: these tests count every container sockproxy made;
        # gVisor needs room in pids for its own threads
        apps[key] = Appliance(overrides=[("sandbox", "gpu", gpu),
                                         ("sandbox", "runtime", runtime),
                                         ("sandbox", "pids", "256" if runtime == "runsc" else "128"),
                                         ("concurrency", "pool", "0")],
                              name="gpu").start()
    return apps[key]


def sp_call(a, method, path, body=None):
    """One request in the grammar sockproxy accepts; (status, bytes)."""
    data = b"" if body is None else json.dumps(body).encode()
    head = "%s %s HTTP/1.1\r\nHost: docker\r\n" % (method, path)
    if body is not None:
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(data)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(a.sock)
    s.sendall(head.encode() + b"\r\n" + data)
    raw = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        raw += b
    s.close()
    headers, _, rest = raw.partition(b"\r\n\r\n")
    status = int(headers.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in headers.lower():
        out = b""
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            out += rest[:n]
            rest = rest[n + 2:]
        rest = out
    return status, rest


def image_ref(a):
    for line in open(a.policy_path):
        w = line.split("#", 1)[0].split()
        if len(w) == 2 and w[1].startswith("sha256:"):
            return w[1]
    raise AssertionError("no image in the policy")


def create_body(a, device_requests=None, runtime=None):
    """what privd sends for the shipped limits, plus what a test adds"""
    hc = {"Memory": 512 << 20, "MemorySwap": 512 << 20, "NanoCpus": 10 ** 9, "PidsLimit": 128}
    if device_requests is not None:
        hc["DeviceRequests"] = device_requests
    if runtime is not None:
        hc["Runtime"] = runtime
    return {"Image": image_ref(a), "Cmd": ["sleep", "infinity"], "HostConfig": hc}


def gpu_request(count=None, ids=None):
    r = {"Driver": "nvidia", "Capabilities": [["gpu"]]}
    if ids is not None:
        r["DeviceIDs"] = ids
    else:
        r["Count"] = count
    return [r]


def create(a, body):
    st, raw = sp_call(a, "POST", "/v1.41/containers/create", body)
    try:
        j = json.loads(raw) if raw else {}
    except ValueError:
        j = {"raw": raw.decode(errors="replace")}
    return st, j


def remove(a, cid):
    st, raw = sp_call(a, "DELETE", "/v1.41/containers/%s" % cid)
    check(st in (200, 204), "remove %s: %s %r" % (cid, st, raw))


def inspect(cid):
    st, raw = docker_api("GET", "/v1.41/containers/%s/json" % cid)
    check(st == 200, "inspect %s: %s" % (cid, st))
    return json.loads(raw)


def settled(a, before=(), seconds=15):
    """the appliance's containers beyond those in before, after the
    post-answer removal"""
    deadline = time.time() + seconds
    while True:
        left = [c for c in a.leftovers() if c not in before]
        if not left or time.time() > deadline:
            return left
        time.sleep(0.05)


def running(cid):
    """running, or already gone"""
    st, raw = docker_api("GET", "/v1.41/containers/%s/json" % cid)
    return st == 404 or (st == 200 and json.loads(raw)["State"]["Running"])


def runs_left(a):
    """what the runs left: under container no container; under jail the
    workers stay by design (privd/wpool.c), with no process of a run"""
    if a.isolation == "jail":
        jail_settle(a)
        # a worker that did not start (no GPU here) must be gone too
        return [c for c in a.leftovers() if not running(c)]
    return settled(a)


def refused(a, body, what):
    before = set(a.leftovers())	# under jail: the workers
    st, j = create(a, body)
    if st == 201:
        remove(a, j["Id"])
    check(st == 403, "%s: sockproxy answered %s %r" % (what, st, j))
    left = settled(a, before)
    check(left == [], "%s left a container: %r" % (what, left))
    return j


def accepted(a, body, what):
    st, j = create(a, body)
    check(st == 201 and "Id" in j, "%s: sockproxy answered %s %r" % (what, st, j))
    try:
        return inspect(j["Id"])
    finally:
        remove(a, j["Id"])


# --- gpu none ---------------------------------------------------------------------

def test_gpu_none_refuses_device_requests():
    a = appliance("none")
    # the same body without the device request is accepted: the refusal is
    # the device request's, not the body's
    c = accepted(a, create_body(a), "create without a device request")
    check(not c["HostConfig"].get("DeviceRequests"), "device requests %r" % c["HostConfig"])
    for what, dr in (("Count 1", gpu_request(count=1)),
                     ("Count -1 (all)", gpu_request(count=-1)),
                     ("DeviceIDs", gpu_request(ids=["0"])),
                     ("an empty list", [])):
        j = refused(a, create_body(a, dr), "gpu none, device request " + what)
        print("gpu none, %s: refused: %s" % (what, j.get("message", j)))


def test_gpu_none_exec_has_no_device():
    a = appliance("none")
    st, j = a.request("POST", "/v1/exec", {"lang": "bash", "code": "ls /dev | tr '\\n' ' '"})
    check(st == 200 and "nvidia" not in j["stdout"], "%s %r" % (st, j))
    check(runs_left(a) == [], "a container was left: %r" % a.leftovers())


# --- gpu set ------------------------------------------------------------------------

def test_gpu_count_request_in_inspect():
    a = appliance("1")
    c = accepted(a, create_body(a, gpu_request(count=1)), "gpu 1, Count 1")
    dr = c["HostConfig"].get("DeviceRequests") or []
    check(len(dr) == 1 and dr[0]["Driver"] == "nvidia" and dr[0]["Count"] == 1 and
          dr[0]["Capabilities"] == [["gpu"]], "DeviceRequests %r" % dr)
    refused(a, create_body(a, gpu_request(count=2)), "gpu 1, Count 2")
    refused(a, create_body(a, gpu_request(count=-1)), "gpu 1, Count -1 (all)")


def test_gpu_all_request_in_inspect():
    a = appliance("all")
    c = accepted(a, create_body(a, gpu_request(count=-1)), "gpu all, Count -1")
    dr = c["HostConfig"].get("DeviceRequests") or []
    check(len(dr) == 1 and dr[0]["Count"] == -1, "DeviceRequests %r" % dr)


def test_gpu_ids_request_in_inspect():
    a = appliance("ids:GPU-0a1b2c3d,1")
    c = accepted(a, create_body(a, gpu_request(ids=["GPU-0a1b2c3d"])), "gpu ids, one of them")
    dr = c["HostConfig"].get("DeviceRequests") or []
    check(len(dr) == 1 and dr[0]["DeviceIDs"] == ["GPU-0a1b2c3d"], "DeviceRequests %r" % dr)
    refused(a, create_body(a, gpu_request(ids=["2"])), "gpu ids, another id")
    refused(a, create_body(a, gpu_request(count=1)), "gpu ids, a count")


def test_gpu_policy_reaches_the_engine_through_privd():
    # privd asks for the policy's GPU on every create: with no GPU driver on
    # this machine the engine creates the container but cannot start it, so
    # the run fails (503) where the same run without a GPU works
    a = appliance("1")
    st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "print(1)"})
    check(st == 503 and "/start:" in j.get("message", ""), "%s %r" % (st, j))
    check(runs_left(a) == [], "a container was left: %r" % a.leftovers())
    st, j = appliance("none").request("POST", "/v1/exec", {"lang": "py", "code": "print(1)"})
    check(st == 200 and j["stdout"] == "1\n", "without a GPU: %s %r" % (st, j))


# --- runtime and network ------------------------------------------------------------

def test_runtime_is_the_policy_s():
    a = appliance("none", "runc")
    refused(a, create_body(a, runtime="runsc"), "runtime runc, Runtime runsc")
    c = accepted(a, create_body(a), "runtime runc, no Runtime")
    check(c["HostConfig"]["Runtime"] == "runc", "runtime %r" % c["HostConfig"]["Runtime"])
    b = appliance("none", "runsc")
    refused(b, create_body(b, runtime="runc"), "runtime runsc, Runtime runc")
    c = accepted(b, create_body(b), "runtime runsc, no Runtime")
    check(c["HostConfig"]["Runtime"] == "runsc", "runtime %r" % c["HostConfig"]["Runtime"])


def test_network_none_refuses_a_network():
    a = appliance("none")
    body = create_body(a)
    body["HostConfig"]["NetworkMode"] = "bridge"
    refused(a, body, "network none, NetworkMode bridge")
    body["HostConfig"]["NetworkMode"] = "host"
    refused(a, body, "network none, NetworkMode host")


def test_limits_above_the_policy_refused():
    a = appliance("none")
    for key, value in (("Memory", (512 << 20) + 1), ("MemorySwap", 1 << 30),
                       ("NanoCpus", 2 * 10 ** 9), ("PidsLimit", 129)):
        body = create_body(a)
        body["HostConfig"][key] = value
        if key == "Memory":
            body["HostConfig"]["MemorySwap"] = value
        refused(a, body, "%s %d above the policy" % (key, value))


def test_zz_stop():
    for a in list(apps.values()):
        a.stop()
    apps.clear()


if __name__ == "__main__":
    try:
        main(globals())
    finally:
        for a in apps.values():
            stop_after_failure(a)
