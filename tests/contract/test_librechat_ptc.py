"""The contract suite for programmatic tool calling (issue 17): LibreChat's
own client (@librechat/agents 3.9.2: createProgrammaticToolCallingTool and
createBashProgrammaticToolCallingTool, with local JavaScript tools) drives
a whole appliance under isolation jail on the real Docker engine
(tests/contract/librechat_ptc.cjs); afterwards no worker is left running a
job (the cancelled one included). The client lives outside the build tree
(./codeward test installs it into CODEWARD_NPM_CLIENT); without it, or
without Docker, this fails."""
import os
import subprocess
import sys
import tempfile
import time

from cwtest import SOURCE, Appliance, check, main

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_librechat import node, node_modules  # noqa: E402 (the client's runtime)

SCRIPT = os.path.join(SOURCE, "tests", "contract", "librechat_ptc.cjs")


def test_programmatic_with_the_real_client():
    with Appliance([("auth", "mode", "none")], name="lc-ptc", isolation="jail") as a:
        env = dict(os.environ)
        env.update({"NODE_PATH": node_modules(),
                    "LIBRECHAT_CODE_BASEURL": "http://127.0.0.1:%d/v1" % a.port,
                    "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
        for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "LIBRECHAT_CODE_API_KEY"):
            env.pop(k, None)
        p = subprocess.run([node(), SCRIPT], env=env, capture_output=True, text=True,
                           timeout=300, cwd=tempfile.mkdtemp(prefix="cw-ptc-"))
        out = p.stdout + p.stderr
        print(out[-3000:])
        check(p.returncode == 0 and "PTC OK" in p.stdout, "the client failed (exit %d):\n%s"
              % (p.returncode, out[-6000:]))
        # (a worker the pool is making has no agent for a moment)
        for _ in range(20):
            time.sleep(0.5)
            bad = a.worker_report()
            if not bad:
                break
        check(not bad, "workers after the client's runs: %r" % bad)


if __name__ == "__main__":
    main(globals())
