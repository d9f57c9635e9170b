#!/usr/bin/python3
"""What sockproxy remembers stays bounded by what is live (rule 10), against
the recording mock daemon: an exec is forgotten once it has ended and its
exit code was read, so a long session never fills the table; one container
has at most SP_EXECS_LIVE execs not ended; and the live-sandbox cap of the
policy holds for creates sent together (the slot is taken before the daemon
is asked)."""
import json
import os
import re
import sys
import threading

import sp_harness as h
from sp_mock import mock_proxy

check = h.check
SOURCE = h.SOURCE


def sp_const(name):
    text = open(os.path.join(SOURCE, "sockproxy", "sockproxy.h")).read()
    return int(re.search(r"#define %s\s+(\d+)" % name, text).group(1))


def setup(edits=None, create_delay=0):
    return mock_proxy("tab", None, edits, create_delay)


def exec_create(px, cid):
    return h.call(px.listen, "POST", "/v1.41/containers/%s/exec" % cid,
                  '{"Cmd":["/usr/local/bin/cw-run","py"]}')


def exec_cycle(px, cid):
    """privd's own sequence: create, start (the whole stream), inspect"""
    st, _, out = exec_create(px, cid)
    if st != 201:
        return "create %d %r" % (st, out)
    eid = json.loads(out)["Id"]
    st, _, out = h.call(px.listen, "POST", "/v1.41/exec/%s/start" % eid)
    if st != 200:
        return "start %d %r" % (st, out)
    st, _, out = h.call(px.listen, "GET", "/v1.41/exec/%s/json" % eid)
    if st != 200 or json.loads(out) != {"Running": False, "ExitCode": 3}:
        return "inspect %d %r" % (st, out)
    return None


def test_long_session():
    mock, px = setup()
    try:
        cid = h.proxy_create(px.listen, h.FAKE_IMAGE)
        err, n = None, 0
        for n in range(3000):
            err = exec_cycle(px, cid)
            if err:
                break
        check(err is None, "3000 exec create/start/inspect cycles on one "
              "container (failed at %d: %s)" % (n, err))
        # an ended exec is still known for a moment (its exit code) ...
        st, _, out = exec_create(px, cid)
        eid = json.loads(out)["Id"]
        h.call(px.listen, "POST", "/v1.41/exec/%s/start" % eid)
        st, _, _ = h.call(px.listen, "GET", "/v1.41/exec/%s/json" % eid)
        check(st == 200, "the inspect after the stream reads the exit code")
        st, _, _ = h.call(px.listen, "POST", "/v1.41/exec/%s/start" % eid)
        check(st == 409, "an ended exec never starts again (%d)" % st)
        # ... and forgotten once newer ones ended
        for _ in range(sp_const("SP_EXECS_ENDED")):
            exec_cycle(px, cid)
        st, _, _ = h.call(px.listen, "GET", "/v1.41/exec/%s/json" % eid)
        check(st == 404, "an exec ended long ago is forgotten (%d)" % st)
    finally:
        px.stop()
        mock.close()


def test_exec_cap():
    cap = sp_const("SP_EXECS_LIVE")
    mock, px = setup()
    try:
        cid = h.proxy_create(px.listen, h.FAKE_IMAGE)
        other = h.proxy_create(px.listen, h.FAKE_IMAGE)
        ids = []
        for _ in range(cap):
            st, _, out = exec_create(px, cid)
            if st == 201:
                ids.append(json.loads(out)["Id"])
        check(len(ids) == cap, "%d execs not ended on one container: all 201" % cap)
        mark = mock.mark()
        st, _, out = exec_create(px, cid)
        msg = json.loads(out).get("message", "") if out else ""
        check(st == 429 and "execs not ended" in msg,
              "exec %d not ended is refused 429 with a message (%d %r)" % (cap + 1, st, out))
        check(not mock.since(mark), "the refused exec never reaches the daemon")
        check(exec_cycle(px, other) is None, "another container's execs are not capped by it")
        # sent together: the slot is taken before the daemon is asked
        third = h.proxy_create(px.listen, h.FAKE_IMAGE)
        res = []
        ts = [threading.Thread(target=lambda: res.append(exec_create(px, third)[0]))
              for _ in range(cap + 8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check(sorted(res) == [201] * cap + [429] * 8,
              "%d exec creates at once: exactly %d created (%r)" % (cap + 8, cap, sorted(res)))
        # one started and ended: room for one more, not two
        st, _, _ = h.call(px.listen, "POST", "/v1.41/exec/%s/start" % ids[0])
        st1, _, _ = exec_create(px, cid)
        st2, _, _ = exec_create(px, cid)
        check(st == 200 and st1 == 201 and st2 == 429,
              "an exec that ended frees its place (%d %d %d)" % (st, st1, st2))
        # the container removed: its execs are gone with it
        st, _, _ = h.call(px.listen, "DELETE", "/v1.41/containers/%s" % cid)
        st2, _, _ = h.call(px.listen, "POST", "/v1.41/exec/%s/start" % ids[1])
        check(st == 204 and st2 == 404, "execs end with their container (%d %d)" % (st, st2))
    finally:
        px.stop()
        mock.close()


def test_create_race():
    # 2 x total + 2 x pool x images + sessions = 2 x 1 + 0 + 1 = 3
    live = 3
    mock, px = setup({"total": "1", "per-user": "1", "pool": "0", "sessions": "1"}, create_delay=0.5)
    try:
        res = []

        def one():
            st, _, _ = h.call(px.listen, "POST", "/v1.41/containers/create",
                              h.create_body(h.FAKE_IMAGE))
            res.append(st)

        ts = [threading.Thread(target=one) for _ in range(12)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check(sorted(res) == [201] * live + [429] * (12 - live),
              "12 creates at once at a cap of %d: exactly %d created, the rest 429 (%r)"
              % (live, live, sorted(res)))
        check(len(mock.containers) == live, "the daemon made exactly %d (%d)"
              % (live, len(mock.containers)))
        # a failed create gives its slot back
        cids = list(mock.containers)
        h.call(px.listen, "DELETE", "/v1.41/containers/%s" % cids[0])
        mock.lie = "privileged"
        st, _, _ = h.call(px.listen, "POST", "/v1.41/containers/create",
                          h.create_body(h.FAKE_IMAGE))
        mock.lie = None
        st2, _, _ = h.call(px.listen, "POST", "/v1.41/containers/create",
                           h.create_body(h.FAKE_IMAGE))
        st3, _, _ = h.call(px.listen, "POST", "/v1.41/containers/create",
                           h.create_body(h.FAKE_IMAGE))
        check(st == 502 and st2 == 201 and st3 == 429,
              "a refused create frees its slot, a removed container too (%d %d %d)"
              % (st, st2, st3))
    finally:
        px.stop()
        mock.close()


def main():
    h.ensure_users()
    test_exec_cap()
    test_create_race()
    test_long_session()
    return h.summary()


if __name__ == "__main__":
    sys.exit(main())
