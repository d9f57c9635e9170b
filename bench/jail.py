#!/usr/bin/env python3
"""The jail's cost per execution (issue 15, not yet wired): 50 docker execs
of print(1) in one worker with and without codeward-jail, interleaved, and
/bin/true timed inside the worker. A report, never a timed test; it needs the
engine, the sandbox image and a build (build/jail/codeward-jail)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "jail"))

import test_jail  # noqa: E402

if __name__ == "__main__":
    sys.argv[1:] = ["test_overhead_runc"]
    test_jail.main({"test_overhead_runc": test_jail.test_overhead_runc})
