"""POST /v1/exec/programmatic under isolation jail (issue 17), through the
HTTP API on the real engine: the program stays live in its worker, its
tool calls come back as tool_call_required with a continuation token, the
results go back to the suspended program. Sequential and parallel calls,
a failing tool caught in Python, a bash tool ending the run with an error,
input files, a file written after the tool calls returned as an output,
an attached workspace (kept between calls, another's invisible), code that
calls no tool, the time waiting for the client not counted against the
program's limit, a run past token-ttl ended, a cancel in the middle of a run, lines the program forges on its fd 3, forged, unknown, expired
and another user's tokens, the round-trip cap and an oversized result;
afterwards no worker is left running a job. Needs Docker: fails without
it."""
import base64
import json
import tempfile
import threading
import time

from cwsec import Signer, claims
from cwtest import Shared, check, main

# API keys and JWTs: a JWT's sub is the user a token is bound to
SIGNER = Signer(tempfile.mkdtemp(prefix="cw-ptc-jwt-"))
POLICY = [("auth", "mode", "api-key+jwt"), ("auth", "jwt-public-key", SIGNER.pub),("concurrency", "total", "2"), ("concurrency", "pool", "1"),
          ("time", "default", "20s"), ("time", "max", "30s"),
          ("programmatic", "round-trips", "3"), ("programmatic", "result-max", "4K"),
          ("programmatic", "token-ttl", "10s"), ("programmatic", "workspace-files", "4")]
PATH = "/v1/exec/programmatic"

setup = Shared(overrides=POLICY, name="ptc", isolation="jail")


def post(body, headers=None, path=PATH):
    return setup().request("POST", path, body, headers=headers)


def tool(name, props=None):
    return {"name": name, "description": name,
            "parameters": {"type": "object", "properties": props or {}}}


def answer(st, j, tools):
    """the results for a tool_call_required answer, by the local tools"""
    check(st == 200 and j.get("status") == "tool_call_required", "%s %r" % (st, j))
    out = []
    for c in j["tool_calls"]:
        try:
            out.append({"call_id": c["id"], "result": tools[c["name"]](**c["input"]),
                        "is_error": False})
        except Exception as e:  # a failing local tool
            out.append({"call_id": c["id"], "result": None, "is_error": True,
                        "error_message": str(e)})
    return {"continuation_token": j["continuation_token"], "tool_results": out}


def drive(body, tools, headers=None, rounds=10):
    """a run to its end; the batches it asked for, the end"""
    st, j = post(body, headers)
    batches = []
    while st == 200 and j.get("status") == "tool_call_required" and rounds > 0:
        batches.append(j["tool_calls"])
        st, j = post(answer(st, j, tools), headers)
        rounds -= 1
    return batches, st, j


def add(a, b):
    return a + b


def boom():
    raise RuntimeError("the tool failed")


TOOLS = {"add": add, "get-weather": lambda city: {"city": city, "tempC": 21}, "boom": boom}
DEFS = [tool("add", {"a": {"type": "number"}, "b": {"type": "number"}}),
        tool("get-weather", {"city": {"type": "string"}}), tool("boom")]


def test_sequential_calls():
    code = "x = await add(a=1, b=2)\ny = await add(a=x, b=10)\nprint('sum', y)\n"
    batches, st, j = drive({"code": code, "tools": DEFS}, TOOLS)
    check(len(batches) == 2 and batches[0][0]["name"] == "add" and
          batches[0][0]["input"] == {"a": 1, "b": 2}, "%r" % batches)
    check(st == 200 and j["status"] == "completed" and j["stdout"] == "sum 13\n", "%s %r" % (st, j))
    check("session_id" in j and j["files"] == [] and j["run"]["code"] == 0, "%r" % j)


def test_parallel_batch_and_normalized_name():
    code = ("import asyncio\n"
            "r = await asyncio.gather(get_weather(city='Paris'), get_weather(city='Oslo'), add(a=2, b=3))\n"
            "print(json.dumps(r) if False else r)\n")
    batches, st, j = drive({"code": code, "tools": DEFS}, TOOLS)
    check(len(batches) == 1 and len(batches[0]) == 3, "one batch of three: %r" % batches)
    check(sorted(c["name"] for c in batches[0]) == ["add", "get-weather", "get-weather"], "%r" % batches)
    check(st == 200 and j["status"] == "completed" and "Paris" in j["stdout"] and
          "Oslo" in j["stdout"] and "5" in j["stdout"], "%s %r" % (st, j))


def test_failing_tool_caught_in_python():
    code = ("try:\n    await boom()\nexcept ToolExecutionError as e:\n"
            "    print('caught', e)\n")
    batches, st, j = drive({"code": code, "tools": DEFS}, TOOLS)
    check(st == 200 and j["status"] == "completed" and "caught" in j["stdout"] and
          "the tool failed" in j["stdout"], "%s %r" % (st, j))


def test_bash_tools_and_failing_tool():
    code = 'r=$(add \'{"a": 4, "b": 5}\')\necho "got $r"\n'
    batches, st, j = drive({"code": code, "tools": DEFS, "lang": "bash"}, TOOLS)
    check(len(batches) == 1 and st == 200 and j["status"] == "completed" and
          j["stdout"].strip() == "got 9", "%s %r" % (st, j))
    code = "boom '{}'\necho after\n"
    batches, st, j = drive({"code": code, "tools": DEFS, "language": "bash"}, TOOLS)
    check(st == 200 and j["status"] == "error" and "the tool failed" in j["stderr"] and
          "after" not in j["stdout"], "%s %r" % (st, j))
    # ended by codeward at the error line: no limit killed it
    check("killed" not in j["stderr"] and j["run"].get("killed") is None, "%r" % j)


def test_file_after_calls_and_no_tool():
    code = ("v = await add(a=20, b=22)\n"
            "open('/mnt/data/answer.txt', 'w').write(str(v))\nprint('wrote')\n")
    batches, st, j = drive({"code": code, "tools": DEFS}, TOOLS)
    check(st == 200 and j["status"] == "completed" and
          [f["name"] for f in j["files"]] == ["answer.txt"], "%s %r" % (st, j))
    f = j["files"][0]
    st, body, _ = setup().request("GET", "/v1/download/%s/%s" % (f["storage_session_id"], f["id"]), raw=True)
    check(st == 200 and body == b"42", "download: %s %r" % (st, body))
    st, j = post({"code": "print('plain')", "tools": DEFS})
    check(st == 200 and j["status"] == "completed" and j["stdout"] == "plain\n", "%s %r" % (st, j))


def ws_call(code, ws, who=None, instance=None, lang="bash", tools=()):
    """a call in the attached workspace ws, as LibreChat's bash tool makes it"""
    h = {"X-LibreChat-Code-Workspace-ID": ws}
    auth = True
    if who is not None:
        h["Authorization"] = "Bearer " + SIGNER.token(claims(sub=who))
        auth = False
    body = {"code": code, "tools": list(tools), "lang": lang}
    if instance is not None:
        body["workspace_instance_id"] = instance
    st, j = setup().request("POST", PATH, body, headers=h, auth=auth)
    check(st == 200 and j.get("status") == "completed", "workspace call: %s %r" % (st, j))
    return j


def test_attached_workspace():
    """X-LibreChat-Code-Workspace-ID: the calls' working directory, its
    files kept between calls (changed, deleted), none of them returned as
    outputs; /mnt/data (LIBRECHAT_CODE_DATA_DIR) as for any run; another
    workspace, instance or user sees nothing of it"""
    j = ws_call('pwd; echo "$LIBRECHAT_CODE_DATA_DIR"; echo v1 > notes.txt; mkdir -p src; '
                'echo "print(1)" > src/main.py; echo art > "$LIBRECHAT_CODE_DATA_DIR/out.txt"',
                "proj-1", who="alice")
    check(j["stdout"] == "/mnt/data/.workspace\n/mnt/data\n", "cwd and data dir: %r" % j)
    check([f["name"] for f in j["files"]] == ["out.txt"], "only the artifact returned: %r" % j["files"])
    j = ws_call("cat notes.txt src/main.py; echo v2 >> notes.txt; rm src/main.py; ls -A",
                "proj-1", who="alice")
    check(j["stdout"] == "v1\nprint(1)\nnotes.txt\nsrc\n", "kept from the last call: %r" % j)
    check(j["files"] == [] and not j.get("deleted_files"), "nothing returned: %r" % j)
    j = ws_call("cat notes.txt; ls -A src 2>/dev/null | wc -l; ls /mnt/data", "proj-1", who="alice")
    check(j["stdout"] == "v1\nv2\n0\n", "changed and deleted kept: %r" % j)
    # Python in the same workspace: its working directory too
    j = ws_call("import os\nprint(os.getcwd(), open('notes.txt').read().split())", "proj-1",
                who="alice", lang="python")
    check(j["stdout"] == "/mnt/data/.workspace ['v1', 'v2']\n", "python: %r" % j)
    # another workspace, another instance, another user: an empty project
    for ws, who, inst in (("proj-2", "alice", None), ("proj-1", "bob", None),
                          ("proj-1", "alice", "ab" * 32)):
        j = ws_call("ls -A | wc -l", ws, who=who, instance=inst)
        check(j["stdout"] == "0\n", "%s of %s (%s) sees: %r" % (ws, who, inst, j))
    # workspace-files: past it a file is not kept, and stderr says so
    j = ws_call("for i in 1 2 3 4 5 6; do echo $i > f$i; done", "proj-cap", who="alice")
    check("2 workspace files were not kept (at most 4 files" in j["stderr"], "the cap: %r" % j)
    j = ws_call("ls | wc -l", "proj-cap", who="alice")
    check(j["stdout"] == "4\n", "kept under the cap: %r" % j)
    # a bad workspace id: refused
    st, j = post({"code": "true", "tools": [], "lang": "bash"},
                 {"X-LibreChat-Code-Workspace-ID": "../x"})
    check(st == 400, "a bad workspace id: %s %r" % (st, j))


def test_input_files():
    # files[] as /v1/exec takes them (the inbox's links under runc): read
    # after a tool call, an unknown one refused before anything runs
    j = setup().exec("py", "open('/mnt/data/in.txt', 'w').write('hello input')")
    f = j["files"][0]
    ref = {"id": f["id"], "storage_session_id": f["storage_session_id"], "name": "in.txt"}
    code = "v = await add(a=1, b=1)\nprint(open('/mnt/data/in.txt').read(), v)\n"
    batches, st, k = drive({"code": code, "tools": DEFS, "files": [ref]}, TOOLS)
    check(st == 200 and k["status"] == "completed" and k["stdout"] == "hello input 2\n" and
          k["files"] == [], "%s %r" % (st, k))
    st, k = post({"code": code, "tools": DEFS, "files": [dict(ref, id="A" * 21)]})
    check(st == 404 and k["error"] == "file_not_found", "%s %r" % (st, k))


def test_cancel_mid_run():
    code = "await add(a=1, b=1)\nprint('never')\n"
    h = {"X-LibreChat-Code-Request-ID": "req-cancel-1"}
    st, j = post({"code": code, "tools": DEFS}, h)
    check(st == 200 and j["status"] == "tool_call_required", "%s %r" % (st, j))
    st, c = post({"request_id": "req-cancel-1"}, path=PATH + "/cancel")
    check(st == 200, "cancel: %s %r" % (st, c))
    st, k = post(answer(200, j, TOOLS))
    check(st == 404, "a cancelled run's token: %s %r" % (st, k))
    st, c = post({"request_id": "req-cancel-1"}, path=PATH + "/cancel")
    check(st == 404, "cancelled twice: %s %r" % (st, c))
    # a running one: cancelled while it computes, before its first call
    code = "import time\ntime.sleep(3)\nawait add(a=1, b=1)\n"
    h = {"X-LibreChat-Code-Request-ID": "req-cancel-2"}
    res = {}
    t = threading.Thread(target=lambda: res.update(r=post({"code": code, "tools": DEFS}, h)))
    t.start()
    time.sleep(1.5)
    st, c = post({"request_id": "req-cancel-2"}, path=PATH + "/cancel")
    t.join(60)
    st2, j2 = res["r"]
    check(st == 200 and st2 == 200 and j2["status"] == "error", "running: %s %r / %s %r" % (st, c, st2, j2))


def token(execution_id, ts):
    return base64.b64encode(json.dumps({"execution_id": execution_id, "ts": ts}).encode()).decode()


def test_tokens():
    res = [{"call_id": "c1", "result": 1, "is_error": False}]
    st, j = post({"continuation_token": "ct_forged-token", "tool_results": res})
    check(st == 400, "forged: %s %r" % (st, j))
    now = int(time.time() * 1000)
    st, j = post({"continuation_token": token("0" * 32, now), "tool_results": res})
    check(st == 404, "unknown id, fresh ts: %s %r" % (st, j))
    st, j = post({"continuation_token": token("0" * 32, now - 3600 * 1000), "tool_results": res})
    check(st == 400, "expired ts: %s %r" % (st, j))
    # another user's token is unknown to this one (a JWT's sub is the
    # user); its owner's continue still works, once
    alice = {"Authorization": "Bearer " + SIGNER.token(claims(sub="alice"))}
    bob = {"Authorization": "Bearer " + SIGNER.token(claims(sub="bob"))}
    st, j = setup().request("POST", PATH, {"code": "await add(a=1, b=1)", "tools": DEFS},
                            headers=alice, auth=False)
    body = answer(st, j, TOOLS)
    for who, h, auth in (("bob", bob, False), ("an API key", None, True)):
        st, k = setup().request("POST", PATH, body, headers=h, auth=auth)
        check(st == 404, "alice's token continued by %s: %s %r" % (who, st, k))
    st, k = setup().request("POST", PATH, body, headers=alice, auth=False)
    check(st == 200 and k["status"] == "completed", "%s %r" % (st, k))
    st, k = setup().request("POST", PATH, body, headers=alice, auth=False)
    check(st == 404, "a token used twice: %s %r" % (st, k))


def test_caps():
    code = "while True:\n    await add(a=1, b=1)\n"
    batches, st, j = drive({"code": code, "tools": DEFS}, TOOLS, rounds=10)
    check(len(batches) == 3 and st == 200 and j["status"] == "error" and
          "round-trips" in j["stderr"], "%d batches, %s %r" % (len(batches), st, j))
    st, j = post({"code": "await add(a=1, b=1)", "tools": DEFS})
    body = answer(st, j, TOOLS)
    body["tool_results"][0]["result"] = "x" * 8192
    st, k = post(body)
    check(st == 413, "an oversized result: %s %r" % (st, k))


def test_wait_is_not_the_programs_time():
    # a 2 s program whose client takes 3 s over its tool: the wait is not counted
    code = "import time\nt = time.time()\nv = await add(a=1, b=2)\nprint(v, round(time.time() - t))\n"
    st, j = post({"code": code, "tools": DEFS, "timeout": 2000})
    body = answer(st, j, TOOLS)
    time.sleep(3)
    st, k = post(body)
    check(st == 200 and k["status"] == "completed" and k["stdout"].startswith("3 "), "%s %r" % (st, k))
    # past token-ttl (10 s here) the run is ended and its token refused
    st, j = post({"code": "import time\nawait add(a=1, b=1)\ntime.sleep(60)", "tools": DEFS})
    body = answer(st, j, TOOLS)
    time.sleep(12)
    # ended by then (frontd's sweep; privd's own bound is 5 s later) with
    # no request to notice it: no program left running
    bad = setup().worker_report()
    check("strays" not in bad, "a run past token-ttl still holds its worker: %r" % bad)
    st, k = post(body)
    check(st == 400 and k["error"] == "token_expired", "%s %r" % (st, k))


def test_hostile_lines():
    # the program's own bytes on fd 3: checked by frontd, never run as calls
    for line, why in ((b"not json\n", "protocol"),
                      (b'{"calls":[{"id":"c1","name":"rm -rf","input":{}}]}\n', "protocol")):
        code = "import os, time\nos.write(3, %r)\ntime.sleep(20)\n" % line
        t0 = time.time()
        st, j = post({"code": code, "tools": DEFS})
        check(st == 200 and j["status"] == "error" and why in j["stderr"] and
              time.time() - t0 < 10, "%r: %s %r" % (line, st, j))
    # a line that never ends: the agent stops it at 16 MiB
    code = "import os\nos.write(3, b'x' * (17 << 20))\n"
    st, j = post({"code": code, "tools": DEFS})
    check(st == 200 and j["status"] == "completed" and "killed" in j["stderr"], "%s %r" % (st, j))


def settled_report():
    """worker_report once the pool is not making a worker (which has no
    agent for a moment), within 10 s"""
    for _ in range(20):
        time.sleep(0.5)
        bad = setup().worker_report()
        if not bad:
            break
    return bad


def test_zz_no_worker_left():
    bad = settled_report()
    check(not bad, "workers: %r" % bad)
    setup.stop()


if __name__ == "__main__":
    main(globals(), setup)
