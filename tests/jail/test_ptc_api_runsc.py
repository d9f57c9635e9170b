"""tests/jail/test_ptc_api.py under runsc (gVisor: codeward-jail -u, which
keeps the programmatic job's fds 3 and 4 the same way), all but its
token-ttl wait. Needs Docker with runsc: fails without it."""
import os
import sys

from cwtest import Shared, main

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_ptc_api as t  # noqa: E402 (the tests themselves)

t.POLICY += [("sandbox", "runtime", "runsc"), ("sandbox", "pids", "1024")]
t.setup = Shared(overrides=t.POLICY, name="ptc-runsc", isolation="jail")

if __name__ == "__main__":
    main({k: v for k, v in vars(t).items()
          if k.startswith("test_") and k != "test_wait_is_not_the_programs_time"}, t.setup)
