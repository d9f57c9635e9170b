#!/usr/bin/python3
"""Measure the sandbox image: size, and per language the runtime version and
the hello-world time, as sandbox/README.md reports them.

    measure.py [--runs N] [--image IMAGE]

Each run is a fresh container created as sockproxy creates them (sandbox.py):
'start' is docker run -d (create + start), 'exec' is the runner compiling and
running hello world, 'total' adds copying the program in and /mnt/data out.
Medians of N runs (default 5), in milliseconds. Prints Markdown.
"""
import argparse
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import programs  # noqa: E402
import sandbox  # noqa: E402

# language -> (display name, command whose output names the version first)
VERSIONS = {
    "py": ("Python", ["python3", "-V"]),
    "js": ("Node.js", ["node", "-v"]),
    "ts": ("TypeScript", ["tsc", "-v"]),
    "c": ("C (GCC)", ["gcc", "-dumpfullversion"]),
    "cpp": ("C++ (G++)", ["g++", "-dumpfullversion"]),
    "java": ("Java (OpenJDK)", ["java", "-XX:-UsePerfData", "--version"]),
    "php": ("PHP", ["php", "-r", "echo PHP_VERSION;"]),
    "rs": ("Rust", ["rustc", "-V"]),
    "go": ("Go", ["go", "version"]),
    "d": ("D (LDC)", ["ldc2", "--version"]),
    "f90": ("Fortran (GFortran)", ["gfortran", "-dumpfullversion"]),
    "r": ("R", ["Rscript", "-e", "cat(R.version.string)"]),
    "bash": ("Bash", ["bash", "-c", "echo $BASH_VERSION"]),
}


def ms(v):
    return "%d" % round(v * 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--image", default=None)
    ap.add_argument("--langs", default=",".join(VERSIONS))
    a = ap.parse_args()
    img = a.image or sandbox.image()
    info = json.loads(sandbox.docker("image", "inspect", img).stdout)[0]
    print("image %s: %s, %.2f GB\n" % (img, info["Id"][:19], info["Size"] / 1e9))
    print("| `lang` | runtime | version | hello world: exec | start | total |")
    print("|---|---|---|---:|---:|---:|")
    for lang in a.langs.split(","):
        name, cmd = VERSIONS[lang]
        out = sandbox.exec_in_image(*cmd, img=img)
        m = re.search(r"\d+\.\d+(\.\d+)?", out)
        version = m.group(0) if m else "?"
        runs = []
        for _ in range(a.runs):
            r = sandbox.run(lang, programs.PROGRAMS[lang]["hello"], img=img)
            if r.status != 0 or r.stdout != programs.HELLO:
                print("%s: hello world failed: %r" % (lang, r), file=sys.stderr)
                return 1
            runs.append(r)
        med = lambda f: statistics.median(f(r) for r in runs)  # noqa: E731
        print("| %s | %s | %s | %s ms | %s ms | %s ms |" % (
            lang, name, version, ms(med(lambda r: r.phases["exec"])),
            ms(med(lambda r: r.phases["start"])), ms(med(lambda r: r.seconds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
