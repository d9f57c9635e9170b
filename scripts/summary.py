#!/usr/bin/env python3
"""The plain summary line of ./codeward test, from meson's JSON test logs
and the libFuzzer runs' log of scripts/fuzz.sh (one JSON object a line, each
with "name" and "result"): "N passed, N failed", after a FAILED line for each
test that did not pass. A skipped test counts as failed: a skip must never
turn a run green; so does a log that cannot be read. Exit status 1 when
anything failed or nothing passed.

usage: summary.py TESTLOG.json...
"""
import json
import sys


def main(paths):
    passed = failed = 0
    for path in paths:
        try:
            lines = open(path).read().splitlines()
        except OSError:
            failed += 1
            continue
        for line in lines:
            try:
                t = json.loads(line)
            except ValueError:
                continue
            if t.get("result") in ("OK", "EXPECTEDFAIL"):
                passed += 1
            else:
                failed += 1
                print("FAILED: %s (%s)" % (t.get("name"), t.get("result")))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
