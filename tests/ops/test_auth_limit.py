"""The failed-auth limit counts after the credential, per client address, on
the real engine.

A valid credential is never refused for others' failures: 50 bad keys from
one address, then the valid key from that same address runs. Failures count
per client address: the peer's, unless the peer is a trusted proxy of the
policy ([auth] trusted-proxies), and then the last address of
X-Forwarded-For that is not one; two clients behind the proxy have separate
budgets, a header that does not parse counts as the proxy's own address,
and nobody else's X-Forwarded-For is read."""
import http.client
import json

from cwtest import Appliance, check
from opslib import main_then_stop, scrape

PROXY = "127.0.0.1"		# trusted by this test's policy
STRANGER = "127.0.0.2"		# not trusted
BURST = 10			# frontd/limit.h LIMIT_BURST
app = None


def setup():
    global app
    if app is None:
        app = Appliance([("auth", "trusted-proxies", PROXY + " 10.0.0.0/8"),
                         ("concurrency", "pool", "1")], name="authlimit").start()
    return app


def call(key, source, xff=None, path="/v1/exec", body=None):
    a = setup()
    h = {"Content-Type": "application/json"}
    if key is not None:
        h["X-API-Key"] = key
    if xff is not None:
        h["X-Forwarded-For"] = xff
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120, source_address=(source, 0))
    data = json.dumps(body or {"lang": "bash", "code": "echo ok"}).encode()
    c.request("POST", path, body=data, headers=h)
    r = c.getresponse()
    payload = r.read()
    c.close()
    try:
        return r.status, json.loads(payload), r.getheader("Retry-After")
    except ValueError:
        return r.status, payload, r.getheader("Retry-After")


def spend(source, xff=None, n=BURST):
    for i in range(n):
        st, j, _ = call("wrong-%d" % i, source, xff)
        check(st == 401, "guess %d from %s (%s): %s %r" % (i, source, xff, st, j))


def test_valid_key_after_fifty_bad_ones():
    a = setup()
    before = scrape(a.port, a.key)
    statuses = [call("bad-%d" % i, STRANGER)[0] for i in range(50)]
    check(statuses[:BURST] == [401] * BURST and set(statuses[BURST:]) == {429},
          "50 bad keys: %r" % statuses)
    st, j, retry = call("bad-51", STRANGER)
    check(st == 429 and j["error"] == "rate_limited" and retry is not None, "%s %r" % (st, j))
    st, j, _ = call(a.key, STRANGER)
    check(st == 200 and j.get("stdout") == "ok\n", "the valid key after 50 bad ones: %s %r" % (st, j))
    after = scrape(a.port, a.key)
    check(after.get("codeward_auth_failures_total", reason="limited")
          - before.get("codeward_auth_failures_total", reason="limited") == 41, "limited counted")


def test_clients_behind_a_trusted_proxy_have_their_own_budgets():
    a = setup()
    spend(PROXY, "198.51.100.1")
    st, j, _ = call("again", PROXY, "198.51.100.1")
    check(st == 429, "the first client over its budget: %s %r" % (st, j))
    # another client through the same proxy: a budget of its own
    st, j, _ = call("other", PROXY, "198.51.100.2")
    check(st == 401, "a second client behind the proxy: %s %r" % (st, j))
    # a spoofed entry left of the client's is not believed; a trusted hop
    # right of it (10.0.0.0/8) is skipped
    st, j, _ = call("again", PROXY, "203.0.113.77, 198.51.100.1, 10.1.2.3")
    check(st == 429, "the first client behind two proxies: %s %r" % (st, j))
    # the proxy's own address (no header) is not the first client's
    st, j, _ = call(a.key, PROXY, "198.51.100.1")
    check(st == 200, "the valid key of the limited client: %s %r" % (st, j))


def test_malformed_forwarded_for_counts_as_the_proxy():
    a = setup()
    spend(PROXY, "198.51.100.9:1234")	# not an address: the proxy's own budget
    st, j, _ = call("next", PROXY, "garbage")
    check(st == 429, "the proxy's own budget spent: %s %r" % (st, j))
    st, j, _ = call("next", PROXY, "198.51.100.10")
    check(st == 401, "a well-formed client behind it: %s %r" % (st, j))
    st, j, _ = call(a.key, PROXY)
    check(st == 200, "the valid key through the proxy: %s %r" % (st, j))


def test_forwarded_for_from_an_untrusted_peer_is_ignored():
    spend("127.0.0.3", "198.51.100.20")
    st, j, _ = call("next", "127.0.0.3", "198.51.100.21")
    check(st == 429, "another X-Forwarded-For from the same untrusted peer: %s %r" % (st, j))
    st, j, _ = call("next", "127.0.0.4", "198.51.100.20")
    check(st == 401, "another peer naming the same client: %s %r" % (st, j))


if __name__ == "__main__":
    main_then_stop(globals(), lambda: app)
