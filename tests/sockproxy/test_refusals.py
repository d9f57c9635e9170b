#!/usr/bin/python3
"""The refusal corpus (security): every file of refusals/ sent as raw bytes to
a sockproxy whose upstream is a recording mock daemon. Each must be answered
with a 4xx and a short JSON reason, logged, and not one byte may reach the
mock while it is handled. The corpus must cover every fact F1-F20 and the
refusal rules of sockproxy/README.md."""
import json
import os
import re
import sys
import time

import sp_harness as h
from sp_mock import Mock

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "refusals")
# rules 1 (generate) and 7 (check what the daemon built) are proven by
# test_golden.py and test_lying.py: they are not refusals of a request
COVER = ["F%02d" % i for i in range(1, 21)] + \
    ["R%02d" % i for i in (2, 3, 4, 5, 6, 8, 9, 10, 11)]


def main():
    h.ensure_users()
    d = h.workdir()
    mock = Mock(os.path.join(d, "docker.sock"))
    policy = h.write_policy(d, h.FAKE_IMAGE)
    px = h.Proxy(d, mock.path, policy, h.instance_name("refuse"))
    failures = []
    try:
        px.wait_ready()
        st, _, body = h.call(px.listen, "POST", "/v1.41/containers/create",
                             h.create_body(h.FAKE_IMAGE))
        if st != 201:
            h.fail("setup create: %d %r" % (st, body))
        cid = json.loads(body)["Id"]
        st, _, body = h.call(px.listen, "POST", "/v1.41/containers/%s/exec" % cid,
                             '{"Cmd":["/usr/local/bin/cw-run","py"],"Env":["CW_LANG=py"]}')
        if st != 201:
            h.fail("setup exec: %d %r" % (st, body))
        eid = json.loads(body)["Id"]

        files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".http"))
        if len(files) < 60:
            h.fail("only %d corpus files" % len(files))
        tags = set()
        for f in files:
            tags.update(re.findall(r"(?:^|-)((?:F|R)\d\d)(?=-)", f))
        missing = [t for t in COVER if t not in tags]
        if missing:
            h.fail("corpus does not cover %s" % ", ".join(missing))

        for f in files:
            data = open(os.path.join(CORPUS, f), "rb").read()
            data = data.replace(b"X" * 64, cid.encode()).replace(b"Z" * 64, eid.encode())
            mark = mock.mark()
            nlog = len(px.logtext())
            try:
                resp = h.raw(px.listen, data, timeout=20)
                st, hdrs, body = h.parse_response(resp)
            except (AssertionError, OSError, ValueError) as e:
                failures.append("%s: no valid answer: %s" % (f, e))
                continue
            time.sleep(0.01)
            sent = mock.since(mark)
            why = ""
            try:
                why = json.loads(body)["message"]
            except (ValueError, KeyError, TypeError):
                failures.append("%s: answer body is not {\"message\":...}: %r" % (f, body[:80]))
            if not 400 <= st <= 499:
                failures.append("%s: status %d (%s)" % (f, st, why))
            if sum(len(r) for r in sent) != 0 or sent:
                failures.append("%s: %d upstream connection(s), %d bytes reached the daemon"
                                % (f, len(sent), sum(len(r) for r in sent)))
            if "refused %d" % st not in px.logtext()[nlog:]:
                failures.append("%s: no log line" % f)
            print("%-60s %d %s" % (f, st, why))
        # the owned container is still fine: nothing above changed it
        st, _, _ = h.call(px.listen, "DELETE", "/v1.41/containers/" + cid)
        if st != 204:
            failures.append("cleanup: remove answered %d" % st)
    finally:
        px.stop()
        mock.close()
    for f in failures:
        print("FAIL", f)
    print("%d corpus requests, %d failures" % (len(files), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
