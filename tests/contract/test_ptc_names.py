"""Tool names become identifiers in codeward's preludes (frontd/ptc.c,
ptc_ident) exactly as LibreChat's client makes them: the client's own
normalizeToPythonIdentifier and normalizeToBashIdentifier, run with node
from @librechat/agents (CODEWARD_NPM_CLIENT), against cw-ptc-tool ident,
on hand-picked names (white space JavaScript's \\s knows, dots, digits,
keywords, non-ASCII) and a few thousand random ones. Needs node and the
client, not Docker; without them this fails."""
import json
import os
import random
import subprocess

from cwtest import check, main

CLIENT = os.environ.get("CODEWARD_NPM_CLIENT", "/var/cache/codeward/npm")
TOOLS = os.path.join(CLIENT, "node_modules", "@librechat", "agents", "dist", "esm", "tools")
TOOL = os.path.join(os.environ["CW_BUILD"], "tests", "frontd", "cw-ptc-tool")

NAMES = [
    "get_weather", "get-weather", "get weather", "a\tb", "a\nb", "a\u00a0b", "a\u1680b",
    "a\u2000b", "a\u200ab", "a\u200bb", "a\u2028b", "a\u2029b", "a\u202fb", "a\u205fb",
    "a\u3000b", "a\ufeffb", "a\u180eb", "a\u0085b", "a\x0bb", "a\x0cb", "a\rb", "a.b",
    "a/b:c", "3d", "9", "-1", "class", "None", "True", "await", "async", "match", "case",
    "type", "_", "local", "done", "function", "export", "unset", "if", "fi", "select",
    "caf\u00e9", "\u00e9", "\U0001f600x", "x\U0001f600", "search_mcp_my-server",
    "tool.with.dots", "a--b", " lead", "trail ", "0class", "class_tool",
]
ALPHABET = "aZ09_-. \t\u00a0\u3000\u2028\ufeff\u180e\u00e9\U0001f600:/$'\"\\" + "clasdonefi"


def client_idents(names):
    script = """
import { readFileSync } from "node:fs";
const p = await import(%s);
const b = await import(%s);
const names = JSON.parse(readFileSync(0, "utf8"));
console.log(JSON.stringify({
  py: names.map((n) => p.normalizeToPythonIdentifier(n)),
  bash: names.map((n) => b.normalizeToBashIdentifier(n)),
}));
""" % (json.dumps(os.path.join(TOOLS, "ProgrammaticToolCalling.mjs")),
       json.dumps(os.path.join(TOOLS, "BashProgrammaticToolCalling.mjs")))
    r = subprocess.run(["node", "--input-type=module", "-e", script], input=json.dumps(names),
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "node: %s" % r.stderr[-2000:])
    return json.loads(r.stdout)


def ours(names, lang):
    r = subprocess.run([TOOL, "ident", lang], input=b"".join(n.encode() + b"\0" for n in names),
                       capture_output=True, timeout=60)
    check(r.returncode == 0, "cw-ptc-tool: %s" % r.stderr)
    return [x.decode() for x in r.stdout.split(b"\0")[:-1]]


def compare(names):
    theirs = client_idents(names)
    for lang in ("py", "bash"):
        mine = ours(names, lang)
        check(len(mine) == len(names), "%s: %d answers for %d names" % (lang, len(mine), len(names)))
        for n, a, b in zip(names, mine, theirs[lang]):
            check(a == b, "%s: %r -> codeward %r, the client %r" % (lang, n, a, b))


def test_hand_picked():
    compare(NAMES)


def test_random():
    rnd = random.Random(17)
    compare(["".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(1, 12)))
             for _ in range(3000)])


main(globals())
