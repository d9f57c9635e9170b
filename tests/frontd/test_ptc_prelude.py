"""The programmatic preludes (frontd/ptc_prelude.c), run: the program
frontd would start is made by cw-ptc-tool from a start body, then run with
the host's /usr/bin/python3 or bash holding fds 3 and 4, while this script
plays the agent: each fd 3 line goes through frontd's own line check
(cw-ptc-tool line) and the results it picks through frontd's fd 4 line
(cw-ptc-tool results). What the program printed, and the batches it sent,
are then compared with what LibreChat's client would see.

Needs no Docker engine (bash's prelude needs jq and flock, as the sandbox
image has them).
"""
import json
import os
import subprocess
import tempfile

from cwtest import check, main

TOOL = os.path.join(os.environ["CW_BUILD"], "tests", "frontd", "cw-ptc-tool")
tmpdir = tempfile.mkdtemp(prefix="cw-ptc-prelude-")


def weather(inp):
    # a LangChain tool answers a string holding JSON, as capture 11 shows
    return json.dumps({"city": inp.get("city"), "tempC": len(inp.get("city", ""))})


def fail(inp):
    raise RuntimeError("the tool broke: %s" % inp.get("why", "no reason"))


def echo(inp):
    return inp


class Run:
    def __init__(self, rc, stdout, stderr, batches, error):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        self.batches, self.error = batches, error

    def __repr__(self):
        return "rc=%r stdout=%r stderr=%r batches=%r error=%r" % (
            self.rc, self.stdout, self.stderr, self.batches, self.error)


def run(code, tools, lang="py", timeout=60):
    """run code with tools {name: fn}; the agent's view of it"""
    body = {"code": code, "tools": [{"name": n, "description": n, "parameters":
                                     {"type": "object"}} for n in tools]}
    if lang == "bash":
        body["lang"] = "bash"
    start = os.path.join(tmpdir, "start.json")
    with open(start, "w") as f:
        json.dump(body, f)
    prog = subprocess.run([TOOL, "program", start], capture_output=True, check=True).stdout
    path = os.path.join(tmpdir, "program." + lang)
    with open(path, "wb") as f:
        f.write(prog)
    up_r, up_w = os.pipe()      # the program's fd 3
    down_r, down_w = os.pipe()  # its fd 4

    def fds():
        os.dup2(up_w, 3)
        os.dup2(down_r, 4)
        for fd in (up_r, up_w, down_r, down_w):
            if fd > 4:
                os.close(fd)

    out, err = open(path + ".out", "w+b"), open(path + ".err", "w+b")
    argv = ["/usr/bin/python3", path] if lang == "py" else ["bash", path]
    p = subprocess.Popen(argv, stdout=out, stderr=err, preexec_fn=fds, close_fds=False,
                         start_new_session=True, cwd=tmpdir)
    os.close(up_w)
    os.close(down_r)
    batches, error = [], None
    with os.fdopen(up_r, "rb") as up, os.fdopen(down_w, "wb") as down:
        for line in up:
            checked = subprocess.run([TOOL, "line", start], input=line, capture_output=True)
            check(checked.returncode == 0, "frontd refuses the line %r: %s" % (
                line, checked.stderr))
            seen = json.loads(checked.stdout)
            if "error" in seen:
                error = json.loads(line)["error"]
                break
            calls = seen["tool_calls"]
            batches.append([(c["name"], c["input"]) for c in calls])
            results = []
            for c in calls:
                try:
                    results.append({"call_id": c["id"], "result": tools[c["name"]](c["input"]),
                                    "is_error": False})
                except Exception as e:
                    results.append({"call_id": c["id"], "result": None, "is_error": True,
                                    "error_message": str(e)})
            cont = json.dumps({"continuation_token": "t", "tool_results": results})
            answer = subprocess.run([TOOL, "results", start], capture_output=True,
                                    input=line.rstrip(b"\n") + b"\n" + cont.encode() + b"\n")
            check(answer.returncode == 0, "frontd refuses the results: %s" % answer.stderr)
            down.write(answer.stdout)
            down.flush()
    rc = p.wait(timeout=timeout)
    out.seek(0)
    err.seek(0)
    return Run(rc, out.read().decode(), err.read().decode(), batches, error)


# --- Python ---

def test_py_sequential_decoded():
    r = run("r = await get_weather(city='Paris')\nprint(r['tempC'], type(r).__name__)\n"
            "s = await get_weather(city='Rome')\nprint(s['city'])\n",
            {"get_weather": weather})
    check(r.rc == 0 and r.stdout == "5 dict\nRome\n", r)
    check(r.batches == [[("get_weather", {"city": "Paris"})],
                        [("get_weather", {"city": "Rome"})]], r)


def test_py_gather_one_batch():
    r = run("sf, ny = await asyncio.gather(get_weather(city='SF'), get_weather(city='NYC'))\n"
            "print(sf['tempC'], ny['tempC'])\n", {"get_weather": weather})
    check(r.rc == 0 and r.stdout == "2 3\n", r)
    check(r.batches == [[("get_weather", {"city": "SF"}), ("get_weather", {"city": "NYC"})]], r)


def test_py_gather_of_coroutines_that_call_later():
    # tasks that await something else first still join the same batch
    r = run("async def one(c):\n    await asyncio.sleep(0)\n    return await echo(c=c)\n"
            "rs = await asyncio.gather(*[one(i) for i in range(5)])\n"
            "print([x['c'] for x in rs])\n", {"echo": echo})
    check(r.rc == 0 and r.stdout == "[0, 1, 2, 3, 4]\n", r)
    check(len(r.batches) == 1 and len(r.batches[0]) == 5, r)


def test_py_error_caught():
    r = run("try:\n    await fail(why='x')\nexcept ToolExecutionError as e:\n"
            "    print('caught:', e)\nprint('went on')\n", {"fail": fail})
    check(r.rc == 0 and r.stdout == "caught: the tool broke: x\nwent on\n", r)
    check(r.error is None, r)


def test_py_error_uncaught_ends_run():
    r = run("print('before')\nawait fail(why='y')\nprint('after')\n", {"fail": fail})
    check(r.rc == 1 and r.stdout == "before\n", r)
    check(r.error == "the tool broke: y", r)
    check("ToolExecutionError: the tool broke: y" in r.stderr and 'line 2' in r.stderr, r)


def test_py_gather_with_one_failure():
    r = run("rs = await asyncio.gather(echo(a=1), fail(why='z'), return_exceptions=True)\n"
            "print(rs[0], type(rs[1]).__name__, rs[1])\n", {"echo": echo, "fail": fail})
    check(r.rc == 0 and r.stdout == "{'a': 1} ToolExecutionError the tool broke: z\n", r)
    check(len(r.batches) == 1, r)


def test_py_names_and_top_level():
    # normalized names, code kept as written (no re-indenting of its strings)
    r = run('s = """a\n  b"""\nprint(repr(s))\n'
            "x = await get_data_2(q=1)\ny = await class_tool({'k': 2})\n"
            "def f():\n    return x['q'] + y['k']\nprint(f())\n",
            {"get-data 2": echo, "class": echo})
    check(r.rc == 0 and r.stdout == "'a\\n  b'\n3\n", r)
    check(r.batches == [[("get-data 2", {"q": 1})], [("class", {"k": 2})]], r)


def test_py_builtin_names_do_not_break_the_prelude():
    # the machinery's own eval, compile, len and str are not the tools
    r = run("print(await eval(x=1), await len(n=2))\n",
            {"eval": echo, "compile": echo, "len": echo, "str": echo, "isinstance": echo})
    check(r.rc == 0 and r.stdout == "{'x': 1} {'n': 2}\n", r)


def test_py_no_tool_call():
    r = run("print(sum(range(10)))\n", {"echo": echo})
    check(r.rc == 0 and r.stdout == "45\n" and r.batches == [], r)


def test_py_plain_values_and_errors():
    r = run("print(repr(await echo(s='not json')))\n", {"echo": lambda i: i["s"]})
    check(r.rc == 0 and r.stdout == "'not json'\n", r)
    r = run("import math\nawait echo(x=math.nan)\n", {"echo": echo})
    check(r.rc == 1 and "ValueError" in r.stderr and r.batches == [], r)
    r = run("await echo(1, 2)\n", {"echo": echo})
    check(r.rc == 1 and "keyword arguments" in r.stderr, r)
    r = run("def f(:\n    pass\n", {"echo": echo})
    check(r.rc == 1 and "SyntaxError" in r.stderr, r)
    r = run("import sys\nprint('x')\nsys.exit(3)\n", {})
    check(r.rc == 3 and r.stdout == "x\n", r)


def test_py_loop_of_round_trips():
    r = run("t = 0\nfor i in range(4):\n    t += (await echo(i=i))['i']\nprint(t)\n",
            {"echo": echo})
    check(r.rc == 0 and r.stdout == "6\n" and len(r.batches) == 4, r)


# --- bash ---

GUARD = ': &\nwait "$!"\n'   # what the client puts before the code


def test_bash_sequential_decoded():
    r = run(GUARD + "r=$(get_weather '{\"city\": \"Paris\"}')\necho \"$r\"\n"
            "echo \"$r\" | jq -r .city\n", {"get_weather": weather}, lang="bash")
    check(r.rc == 0 and r.stdout == '{"city":"Paris","tempC":5}\nParis\n', r)
    check(r.batches == [[("get_weather", {"city": "Paris"})]], r)


def test_bash_background_one_batch():
    r = run(GUARD + "d=$(mktemp -d)\n"
            "{ sf=$(get_weather '{\"city\":\"SF\"}'); printf '%s\\n' \"$sf\" > $d/sf; } &\n"
            "{ ny=$(get_weather '{\"city\":\"NYC\"}'); printf '%s\\n' \"$ny\" > $d/ny; } &\n"
            "wait\njq -r .tempC $d/sf $d/ny\n", {"get_weather": weather}, lang="bash")
    check(r.rc == 0 and r.stdout == "2\n3\n", r)
    check(len(r.batches) == 1 and sorted(c[1]["city"] for c in r.batches[0]) == ["NYC", "SF"], r)


def test_bash_failure_ends_run():
    r = run("echo before\nx=$(fail '{\"why\":\"q\"}')\necho after\n", {"fail": fail},
            lang="bash")
    check(r.rc != 0 and r.stdout == "before\n", r)
    check(r.error == "the tool broke: q" and "the tool broke: q" in r.stderr, r)


def test_bash_failure_in_background_ends_run():
    r = run("fail '{}' &\nwait\necho after\n", {"fail": fail}, lang="bash")
    check(r.rc != 0 and "after" not in r.stdout and r.error == "the tool broke: no reason", r)


def test_bash_names_and_inputs():
    # tools named like the commands the prelude runs do not break it
    r = run("web_search\nmv '[1,\n2]'\nif_tool '\"s\"'\necho done\n",
            {"web.search": echo, "mv": echo, "if": echo, "printf": echo, "jq": echo,
             "exit": echo}, lang="bash")
    check(r.rc == 0 and r.stdout == '{}\n[1,2]\n"s"\ndone\n', r)
    check(r.batches == [[("web.search", {})], [("mv", [1, 2])], [("if", "s")]], r)


def test_bash_string_results():
    r = run("plain '{}'\nobj '{}'\n", {"plain": lambda i: "hello", "obj": lambda i: '[1, 2]'},
            lang="bash")
    check(r.rc == 0 and r.stdout == '"hello"\n[1,2]\n', r)


def test_bash_strict_modes():
    # the user's set -euo pipefail, nullglob and IFS leave the prelude alone
    r = run("set -euo pipefail\nshopt -s nullglob failglob\nIFS=,\n"
            "r=$(echo_tool '{\"a\":1}')\necho \"$r\"\n"
            "{ echo_tool '{\"b\":2}' > /dev/null; } & { echo_tool '{\"c\":3}' > /dev/null; } &\n"
            "wait\necho end\n", {"echo_tool": echo}, lang="bash")
    check(r.rc == 0 and r.stdout == '{"a":1}\nend\n', r)
    check(len(r.batches) == 2 and len(r.batches[1]) == 2, r)


def test_bash_no_tool_call():
    r = run(GUARD + "echo $((6 * 7))\n", {"echo_tool": echo}, lang="bash")
    check(r.rc == 0 and r.stdout == "42\n" and r.batches == [], r)


def test_refused_starts():
    for tools, want in (({"a-b": echo, "a b": echo}, "both become"),
                        ({"__ptc_x": echo}, "prelude's own")):
        start = os.path.join(tmpdir, "bad.json")
        with open(start, "w") as f:
            json.dump({"code": "1", "tools": [{"name": n} for n in tools]}, f)
        r = subprocess.run([TOOL, "program", start], capture_output=True, text=True)
        check(r.returncode == 2 and want in r.stderr, r.stderr)


main(globals())
