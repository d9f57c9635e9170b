"""The warm pool: runs take started sandboxes from it, each serves one run and
is removed, the pool is refilled, and a stop removes the idle ones too. With
'prewarm py' there are two pools per image: plain sandboxes, and sandboxes
whose Python is already loaded (only Python runs take those).

The pool of sandboxes that each serve one run is isolation container's;
under isolation jail the pool keeps workers that serve many (privd/wpool.c:
tests/privd's privd-wpool, tests/jail's jail-engine), so the tests that
count the pool's sandboxes run under container whatever the default."""
import time

from cwtest import Appliance, check, docker_api, main
import json


def wait_count(a, want, gone=(), timeout=60):
    """Wait for 'want' sandboxes, none of them one of the 'gone' hostnames
    (a used sandbox is removed just after its answer)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ids = a.leftovers()
        if len(ids) == want and not any(i.startswith(h) for i in ids for h in gone):
            return
        time.sleep(0.1)
    raise AssertionError("expected %d sandboxes, see %d" % (want, len(a.leftovers())))


def test_pool_serves_fresh_sandboxes_and_refills():
    a = Appliance(name="pool", overrides=[("concurrency", "pool", "2"),
                                          ("concurrency", "prewarm", "py")],
                  isolation="container").start()
    try:
        wait_count(a, 4)   # 2 plain + 2 pre-warmed
        before = set(a.leftovers())
        seen = set()
        for i in range(3):
            j = a.exec("py", "import os; print(os.listdir('/mnt/data'))")
            check(j["stdout"] == "[]\n", "a pooled sandbox was not fresh: %r" % j)
            j = a.exec("bash", "hostname")
            seen.add(j["stdout"].strip())
            wait_count(a, 4, gone=seen)
        after = set(a.leftovers())
        # every run used a different sandbox, and none of them is still there
        check(len(seen) == 3, "sandboxes reused: %r" % seen)
        # a bash run took a plain sandbox: only Python runs refill the
        # pre-warmed pool, which the py runs above used too
        check(not any(cid.startswith(h) for cid in after for h in seen),
              "a used sandbox is back in the pool")
        check(before != after, "the pool was not used")
        # pooled sandboxes are created with the policy's limits
        st, raw = docker_api("GET", "/v1.41/containers/%s/json" % next(iter(after)))
        hc = json.loads(raw)["HostConfig"]
        check(hc["ReadonlyRootfs"] and hc["NetworkMode"] == "none" and hc["CapDrop"] == ["ALL"],
              "pooled sandbox settings: %r" % hc)
    finally:
        a.stop()   # raises when anything, pooled or not, is left behind


def test_pooled_sandbox_returns_what_the_run_wrote():
    """privd takes a pooled sandbox's work-directory stat when it pools it, to
    skip the archive download of a run that wrote nothing: a run long after
    pooling that writes a file (or only a sub-folder's file, or a file in
    the first second) must still get it back."""
    with Appliance(name="pool-files", overrides=[("concurrency", "pool", "1"),
                                                 ("concurrency", "prewarm", "none")]) as a:
        for lang, code, want in [
                ("py", "open('a.txt', 'w').write('A')", ["a.txt"]),
                ("bash", "mkdir -p d/e && echo B > d/e/b.txt", ["d/e/b.txt"]),
                ("py", "print('nothing written')", []),
                ("bash", "echo C > c.txt", ["c.txt"])]:
            wait_count(a, 1)
            time.sleep(1.2)     # the pooled stat is older than the run's writes
            j = a.exec(lang, code)
            names = sorted(f["name"] for f in j["files"])
            check(names == want, "%s %r: files %r, want %r" % (lang, code, names, want))
        # an immediate run, in the same second the sandbox was pooled
        wait_count(a, 1)
        j = a.exec("bash", "echo D > quick.txt")
        check([f["name"] for f in j["files"]] == ["quick.txt"], "quick run: %r" % j)


def test_prewarmed_python_matches_plain_python():
    """The pre-warmed interpreter must be indistinguishable to the program."""
    code = ("import sys, os\n"
            "print(sys.argv[1:], __name__, os.getcwd())\n"
            "print('CW_CODE' in os.environ, sys.path[0] == os.path.dirname(os.path.abspath(__file__)))\n"
            "import numpy, pandas\n"
            "print(pandas.DataFrame({'a':[1,2]})['a'].sum())\n"
            "sys.stderr.write('err\\n'); sys.exit(5)\n")
    outs = []
    for prewarm in ("py", "none"):
        with Appliance(name="warm-" + prewarm, overrides=[("concurrency", "pool", "1"),
                                                          ("concurrency", "prewarm", prewarm)],
                       isolation="container") as a:
            pooled = 2 if prewarm == "py" else 1
            wait_count(a, pooled)
            time.sleep(8 if prewarm == "py" else 0)   # let the interpreter finish importing
            j = a.exec("py", code, args=["x y", "z"])
            outs.append((j["stdout"], j["stderr"], j["run"]["code"]))
            # the one thing a program can tell: numpy is already loaded
            wait_count(a, pooled)
            time.sleep(8 if prewarm == "py" else 0)
            j = a.exec("py", "import sys; print('numpy' in sys.modules)")
            check(j["stdout"] == ("True\n" if prewarm == "py" else "False\n"),
                  "prewarm %s: numpy preloaded? %r" % (prewarm, j["stdout"]))
    check(outs[0] == outs[1], "pre-warmed %r differs from plain %r" % tuple(outs))
    check(outs[0][0] == "['x y', 'z'] __main__ /mnt/data\nFalse True\n3\n", "stdout %r" % (outs[0][0],))
    check(outs[0][2] == 5, "exit %r" % (outs[0][2],))


if __name__ == "__main__":
    main(globals())
