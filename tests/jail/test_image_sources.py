"""The sandbox image compiles the jail, libcwjail.so and the agent from the
same sources as jail/meson.build (sandbox/Dockerfile names them again for
its build stage, which has no meson): a file added to one and not the
other would build here and fail at ./codeward test's image build."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from cwtest import SOURCE, check, main  # noqa: E402


def meson_sources():
    text = open(os.path.join(SOURCE, "jail", "meson.build")).read()
    out = {}
    for m in re.finditer(r"(\w+) = (?:executable|shared_module)\('([\w-]+)',(.*?)\)\n", text, re.S):
        out[m.group(2)] = sorted(re.findall(r"'([\w./-]+\.c)'", m.group(3)))
    return out


def dockerfile_sources():
    text = open(os.path.join(SOURCE, "sandbox", "Dockerfile")).read()
    out = {}
    for m in re.finditer(r"gcc .*?-o ([\w.-]+) ((?:[\w./-]+\.c ?)+)", text):
        name = {"libcwjail.so": "cwjail"}.get(m.group(1), m.group(1))
        out[name] = sorted(m.group(2).split())
    return out


def test_same_sources():
    want, got = meson_sources(), dockerfile_sources()
    check(set(want) == {"codeward-jail", "cwjail", "codeward-agent"},
          "jail/meson.build's targets: %r" % sorted(want))
    for name, files in want.items():
        check(got.get(name) == files, "%s: meson builds it from %r, sandbox/Dockerfile from %r"
              % (name, files, got.get(name)))


if __name__ == "__main__":
    main(globals())
