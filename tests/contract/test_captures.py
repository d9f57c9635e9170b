"""Every request captured from the real LibreChat client (captures/, exact
bytes, CRLF, chunked bodies as sent) replayed at the HTTP level on one
keep-alive connection, with only the ids the server hands out (and the API
key) substituted, in the order the client sent them. Each must get a
well-formed answer: a status line, an exact length, and a JSON body
(downloads excepted) that says what the contract says."""
import json
import os
import re

from cwhttp import RawConn, is_id
from cwtest import SOURCE, Appliance, check, main

CAPTURES = os.path.join(SOURCE, "tests", "contract", "captures")

# the ids in the captures, and what stands for them
UPLOAD_SID, UPLOAD_FID = "Jk72x50rfxURmxGlHtZWt", "TPb61LIOkuf2OhJzyBOfC"
OUT_SID, OUT_FID = "m5tdw6-vFmpaWAI211knO", "wh1CyjNpz4ble1_HVFXAL"
CAPTURED_KEY = b"legacy-key"


def load(prefix):
    names = [n for n in sorted(os.listdir(CAPTURES)) if n.startswith(prefix + "-")]
    check(len(names) == 1, "capture %s: %r" % (prefix, names))
    return open(os.path.join(CAPTURES, names[0]), "rb").read()


def substitute(raw, ids, key=None):
    """Replace ids (same length: chunk sizes stay right) and the key; fix a
    Content-Length the replacement changed."""
    for old, new in ids.items():
        check(len(old) == len(new), "ids keep their length")
        raw = raw.replace(old.encode(), new.encode())
    if key is not None:
        raw = raw.replace(CAPTURED_KEY, key.encode())
    head, sep, body = raw.partition(b"\r\n\r\n")
    if re.search(rb"(?im)^content-length:", head):
        head = re.sub(rb"(?im)^(content-length:) *\d+", b"\\1 %d" % len(body), head)
    return head + sep + body


def all_captures():
    return sorted(n.split("-", 1)[0] for n in os.listdir(CAPTURES) if n.endswith(".http"))


def well_formed(r, what, json_body=True):
    check(100 <= r.status < 600, "%s: status %d" % (what, r.status))
    check(r.header("Content-Length") is not None or r.header("Transfer-Encoding"),
          "%s: no length" % what)
    check(r.header("Content-Encoding") is None, "%s: Content-Encoding" % what)
    if json_body:
        check(r.header("Content-Type").startswith("application/json"), "%s: %r" % (what, r.headers))
        return json.loads(r.body)
    return None


def test_current_generation_captures():
    with Appliance([("auth", "mode", "none")], name="cap-current") as a:
        c = RawConn(a.port)
        seen = set()
        ids = {}

        r = c.exchange(load("01")); seen.add("01")
        j = well_formed(r, "01 upload")
        check(r.status == 200 and j["message"] == "success" and
              j["session_id"] == j["storage_session_id"] and is_id(j["session_id"]), "01: %r" % j)
        check(j["files"][0]["filename"] == "data.csv", "01: %r" % j)
        ids[UPLOAD_SID], ids[UPLOAD_FID] = j["session_id"], j["files"][0]["fileId"]

        r = c.exchange(substitute(load("02"), ids)); seen.add("02")
        j = well_formed(r, "02 freshness")
        check(r.status == 200 and j["name"] == "%s/%s" % (ids[UPLOAD_SID], ids[UPLOAD_FID]) and
              j["size"] == 8 and "lastModified" in j, "02: %r" % j)

        r = c.exchange(substitute(load("03"), ids)); seen.add("03")
        j = well_formed(r, "03 exec")
        check(r.status == 200 and j["stdout"].startswith("a,b\n1,2"), "03: %r" % j)
        out = [f for f in j["files"] if f["name"] == "out.txt"]
        check(len(out) == 1 and out[0]["storage_session_id"] == j["session_id"], "03 files %r" % j)
        check([f["name"] for f in j["files"]] == ["out.txt"], "03: the unchanged input is listed: %r" % j)
        ids[OUT_SID], ids[OUT_FID] = j["session_id"], out[0]["id"]

        for n in ("04", "05"):
            r = c.exchange(substitute(load(n), ids)); seen.add(n)
            well_formed(r, n + " download", json_body=False)
            check(r.status == 200 and r.body == b"hi", "%s: %r" % (n, r))
            check(r.header("Content-Disposition") == 'attachment; filename="out.txt"', "%r" % r.headers)

        r = c.exchange(substitute(load("06"), ids)); seen.add("06")
        j = well_formed(r, "06 exec")
        check(r.status == 200 and "data.csv" in j["stdout"] and "out.txt" in j["stdout"] and
              j["stdout"].rstrip().endswith("hi"), "06: %r" % j)
        check(j["files"] == [], "06: unchanged inputs listed as new: %r" % j)

        r = c.exchange(substitute(load("07"), ids)); seen.add("07")
        j = well_formed(r, "07 exec")
        check(r.status == 200 and j["stdout"] == "hi", "07: %r" % j)

        r = c.exchange(substitute(load("08"), ids)); seen.add("08")
        j = well_formed(r, "08 listing")
        check(r.status == 200 and len(j) == 1 and
              j[0]["metadata"]["original-filename"] == "data.csv", "08: %r" % j)

        r = c.exchange(load("09")); seen.add("09")
        j = well_formed(r, "09 batch")
        check(r.status == 200 and j["succeeded"] == 2 and j["failed"] == 0, "09: %r" % j)
        check([f["filename"] for f in j["files"]] == ["SKILL.md", "pptx/scripts/helper.py"], "09: %r" % j)

        # programmatic tool calling: the start stops at its tool call; the
        # official server's token in the captured continue is none of ours
        # (under isolation container: a clear 501 instead)
        r = c.exchange(substitute(load("10"), ids)); seen.add("10")
        j = well_formed(r, "10 programmatic")
        if a.isolation == "jail":
            check(r.status == 200 and j["status"] == "tool_call_required" and
                  j["tool_calls"][0]["name"] == "get_weather" and
                  j["tool_calls"][0]["input"] == {"city": "Paris"}, "10: %r" % j)
        else:
            check(r.status == 501 and "isolation jail" in j["message"], "10: %r" % j)
        r = c.exchange(substitute(load("11"), ids)); seen.add("11")
        j = well_formed(r, "11 programmatic")
        check(r.status == (400 if a.isolation == "jail" else 501), "11: %r" % j)
        c.close()
        check(seen == {n for n in all_captures() if n < "12"}, "replayed %r" % sorted(seen))


def test_old_generation_captures():
    with Appliance(name="cap-old") as a:
        c = RawConn(a.port)
        ids = {}
        r = c.exchange(substitute(load("17"), ids, a.key))
        j = well_formed(r, "17 upload")
        check(r.status == 200 and j["message"] == "success" and is_id(j["session_id"]), "17: %r" % j)
        ids[OUT_SID], ids[UPLOAD_FID] = j["session_id"], j["files"][0]["fileId"]

        r = c.exchange(substitute(load("18"), ids, a.key))
        j = well_formed(r, "18 listing")
        check(r.status == 200 and len(j) == 1, "18: %r" % j)
        # the old client's way to the id: after '/', up to the first '.'
        check(j[0]["name"].split("/")[1].split(".")[0] == ids[UPLOAD_FID], "18: %r" % j)

        r = c.exchange(substitute(load("19"), ids, a.key))
        j = well_formed(r, "19 exec")
        check(r.status == 200 and j["stdout"] == "1\n", "19: %r" % j)
        c.close()
        logs = a.log("privd") + a.log("sockproxy")
        check(a.key not in logs, "the key (sent in the exec body too) appears in a log")

        # the same captures without the key: a well-formed 401 each
        for n in all_captures():
            raw = load(n)
            if CAPTURED_KEY not in raw:
                rc = RawConn(a.port)
                r = rc.exchange(raw)
                rc.close()
                j = well_formed(r, n + " without a key")
                check(r.status == 401 and j["error"] == "unauthorized", "%s: %r" % (n, j))


if __name__ == "__main__":
    main(globals())
