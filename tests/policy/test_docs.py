"""The policy's documents agree with its parser, through the shipped
`codeward-privd --check-policy`:

- every key the parser knows is documented in policy/README.md, and every
  documented key exists;
- each documented default is the parser's (the effective policy of an empty
  file);
- each documented floor and ceiling is the parser's: one step past either is
  refused with that very bound in the message;
- the shipped default.policy writes out every limit, so an auditor never needs
  to know a default;
- --check-policy prints the file's identity (the sha256 of its bytes) and an
  effective policy that checks again to itself, and exits 1 with FILE:LINE
  errors on a bad file.

Needs no Docker engine.
"""
import hashlib
import os
import re
import subprocess
import tempfile

from cwtest import check, main

SOURCE = os.environ["CW_SOURCE"]
PRIVD = os.path.join(os.environ["CW_BUILD"], "privd", "codeward-privd")
IMG = "sha256:" + "0123456789abcdef" * 4
SECTIONS = ("sandbox", "time", "output", "files", "concurrency", "auth", "metrics",
            "programmatic")
tmpdir = tempfile.mkdtemp(prefix="cw-policy-docs-")


def check_policy(text, name="t.policy"):
    path = os.path.join(tmpdir, name)
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run([PRIVD, "--check-policy", path], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr.strip(), path


def effective(text):
    """{(section, key): value} of the effective policy of text"""
    rc, out, err, _ = check_policy(text)
    check(rc == 0, "check-policy failed: %s" % err)
    values, sec = {}, None
    for line in out.split("\n"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"\[(\w+)(?: \w+)?\]", line)
        if m:
            sec = m.group(1)
            continue
        k, _, v = line.partition(" ")
        values[(sec, k)] = v.strip()
    return values


def readme_rows():
    """{(section, key): (default, floor, ceiling)} from the key tables"""
    rows, sec = {}, None
    for line in open(os.path.join(SOURCE, "policy", "README.md")):
        m = re.match(r"### `\[(\w+)\]`", line)
        if m:
            sec = m.group(1)
            continue
        if line.startswith("#"):
            sec = None
        m = re.match(r"\| `([a-z-]+)` \|[^|]*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|", line)
        if sec in SECTIONS and m:
            default = m.group(2).strip().strip("`")
            b = re.fullmatch(r"`([^`]+)` – `([^`]+)`", m.group(3).strip())
            rows[(sec, m.group(1))] = (default, b.group(1) if b else None, b.group(2) if b else None)
    return rows


def parser_keys():
    return {k for k in effective("") if k[0] in SECTIONS}


def test_every_key_documented():
    doc, code = set(readme_rows()), parser_keys()
    check(code - doc == set(), "keys without documentation: %s" % sorted(code - doc))
    check(doc - code == set(), "documented keys the parser does not know: %s" % sorted(doc - code))


def test_documented_defaults():
    eff = effective("")
    wrong = []
    for (sec, key), (default, _, _) in readme_rows().items():
        want = eff[("sandbox", "memory")] if default.startswith("= ") else default
        if eff[(sec, key)] != want:
            wrong.append("[%s] %s: README %r, parser %r" % (sec, key, default, eff[(sec, key)]))
    check(not wrong, "defaults differ:\n  " + "\n  ".join(wrong))


UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
TIMES = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}


def step(key, value, direction):
    """the value one step above (+1) or below (-1) a documented bound, in
    the finest unit of the key's kind, as a policy word"""
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", value)
    if m:
        ms = int(m.group(1)) * TIMES[m.group(2)]
        if key in ("lifetime", "header-timeout", "workspace-lifetime"):   # whole seconds
            return "%ds" % (ms // 1000 + direction)
        return "%dms" % (ms + direction)
    m = re.fullmatch(r"(\d+)([KMG])", value)
    if m:
        return "%d" % (int(m.group(1)) * UNITS[m.group(2)] + direction)
    if key == "cpus":
        whole, _, frac = value.partition(".")
        hundredths = int(whole) * 100 + int((frac + "00")[:2]) + direction
        return "%d.%02d" % (hundredths // 100, hundredths % 100)
    return str(int(value) + direction)


def test_documented_bounds():
    wrong, probes = [], 0
    for (sec, key), (_, floor, ceil) in sorted(readme_rows().items()):
        if ceil is None:
            continue
        cases = [("is above the ceiling of", ceil, +1)]
        if floor not in ("0",):
            cases.append(("is below the floor of", floor, -1))
        for words, bound, direction in cases:
            v = step(key, bound, direction)
            # the bound itself is accepted ...
            companions = {"swap": "[sandbox]\nmemory 16M\n", "default": "[time]\nmax 1h\n"}
            pre = companions.get(key, "")
            text = pre if pre.startswith("[%s]" % sec) else pre + "[%s]\n" % sec
            if key == "max":
                text = "[time]\ndefault 100ms\n"
            if key == "total":
                text = "[concurrency]\nper-user 1\n"
            if key == "per-user":
                text = "[concurrency]\ntotal 30\n"
            if key == "connections":
                text = "[concurrency]\nconnections-per-address 1\n"
            if key == "connections-per-address":
                text = "[concurrency]\nconnections 1024\n"
            rc, _, err, path = check_policy(text + "%s %s\n" % (key, bound))
            probes += 1
            if rc != 0:
                wrong.append("[%s] %s %s (the documented bound) is refused: %s" % (sec, key, bound, err))
            # ... and one step past it is refused, naming the bound
            rc, _, err, path = check_policy(text + "%s %s\n" % (key, v))
            probes += 1
            line = len(text.split("\n"))
            want = "%s:%d: %s %s %s %s" % (path, line, key, v, words, bound)
            if rc != 1 or not err.startswith(want):
                wrong.append("[%s] %s %s: want %r, got %r (exit %d)" % (sec, key, v, want, err, rc))
    print("%d probes" % probes)
    check(not wrong, "bounds differ:\n  " + "\n  ".join(wrong))


def test_default_policy_states_every_limit():
    text = open(os.path.join(SOURCE, "policy", "default.policy")).read()
    written, sec = set(), None
    for line in text.split("\n"):
        line = line.split("#", 1)[0].strip()
        m = re.fullmatch(r"\[(\w+)(?: \w+)?\]", line)
        if m:
            sec = m.group(1)
        elif line and sec in SECTIONS:
            written.add((sec, line.split()[0]))
    # the JWT details only matter once a JWT mode is chosen
    missing = {k for k in parser_keys() - written
               if k not in {("auth", "jwt-issuer"), ("auth", "jwt-audience"), ("auth", "jwt-alg")}}
    check(not missing, "default.policy leaves to defaults: %s" % sorted(missing))
    filled = text.replace("@SANDBOX_IMAGE@", IMG)
    eff = effective(filled)
    check(eff[("sandbox", "network")] == "none" and eff[("sandbox", "gpu")] == "none" and
          eff[("sandbox", "swap")] == eff[("sandbox", "memory")] and
          eff[("auth", "mode")] == "api-key", "the shipped policy: %r" % eff)


def test_check_policy_round_trip():
    filled = open(os.path.join(SOURCE, "policy", "default.policy")).read().replace("@SANDBOX_IMAGE@", IMG)
    rc, out, err, _ = check_policy(filled)
    check(rc == 0 and err == "", "check-policy: %d %r" % (rc, err))
    check(out.startswith("# effective policy of "), "output %r" % out[:80])
    # the policy's identity: the sha256 of its bytes, as the daemons log it
    check(out.split("\n")[1] == "# policy sha256:%s (%d bytes)" %
          (hashlib.sha256(filled.encode()).hexdigest(), len(filled.encode())),
          "identity line %r" % out.split("\n")[1])
    rc2, out2, err2, _ = check_policy(out, "effective.policy")
    check(rc2 == 0, "the effective policy does not check: %s" % err2)
    body = out.split("\n", 2)[2]
    check(out2.split("\n", 2)[2] == body, "the effective policy of the effective policy differs")
    for lang in ("py", "bash"):
        check("[language %s]" % lang in out, "language %s missing from %r" % (lang, out))


def test_check_policy_errors():
    rc, out, err, path = check_policy("[sandbox]\nmemory 1G\npids 5000\n")
    check(rc == 1 and out == "" and err == "%s:3: pids 5000 is above the ceiling of 4096" % path,
          "exit %d, stdout %r, stderr %r" % (rc, out, err))
    rc, out, err, path = check_policy(open(os.path.join(SOURCE, "policy", "default.policy")).read())
    check(rc == 1 and "@SANDBOX_IMAGE@" in err and re.match(re.escape(path) + r":\d+: ", err),
          "the unfilled shipped policy: exit %d, %r" % (rc, err))
    r = subprocess.run([PRIVD, "--check-policy", os.path.join(tmpdir, "missing")],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "No such file" in r.stderr, "a missing file: %d %r" % (r.returncode, r.stderr))
    # privd runs executions on workers under runc; the loader refuses the jail under gVisor
    rc, out, err, path = check_policy("[sandbox]\nisolation jail\njail-seccomp %s\n" % IMG)
    check(rc == 0 and "isolation       jail" in out, "isolation jail: exit %d, stderr %r" % (rc, err))
    rc, out, err, path = check_policy("[sandbox]\npids 256\nruntime runsc\nisolation jail\njail-seccomp %s\n" % IMG)
    check(rc == 1 and out == "" and "isolation jail with runtime runsc" in err,
          "isolation jail under runsc: exit %d, stdout %r, stderr %r" % (rc, out, err))

if __name__ == "__main__":
    main(globals())
