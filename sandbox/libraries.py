#!/usr/bin/python3
"""The libraries of the sandbox image, as the built image has them.

    libraries.py            print the list (Markdown) from the image
    libraries.py --write    put it into sandbox/README.md between its markers
    libraries.py --check    exit 1 when sandbox/README.md says otherwise

What is listed: every package the Dockerfile's final stage installs with
apt-get, and every npm package of npm/package.json; the versions are those
in the image ($CODEWARD_SANDBOX_IMAGE, else codeward-sandbox:current),
asked of dpkg and of each package's package.json. The image is run with no
network, as a sandbox.
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DOCKER = "/usr/bin/docker"
BEGIN = "<!-- libraries: begin (written by sandbox/libraries.py --write) -->"
END = "<!-- libraries: end -->"

# The module a Python package is imported as, where it is not the package's
# name without "python3-".
MODULES = {
    "python3-opencv": "cv2", "python3-skimage": "skimage", "python3-sklearn": "sklearn",
    "python3-pil": "PIL.Image", "python3-bs4": "bs4", "python3-yaml": "yaml",
    "python3-tz": "pytz", "python3-pypdf2": "PyPDF2", "python3-fonttools": "fontTools.ttLib",
    "python3-pdfminer": "pdfminer.high_level", "python3-pyzbar": "pyzbar.pyzbar",
    "python3-odf": "odf.opendocument",
}


def final_stages(text):
    """The text of the final stage and of the stages it is built FROM, in
    order (a build stage that only hands files over is not among them)."""
    stages = re.split(r"(?m)^(?=FROM )", text)[1:]
    names = {}
    for st in stages:
        m = re.match(r"FROM \S+ AS (\S+)", st)
        if m:
            names[m.group(1)] = st
    chain = [stages[-1]]
    while True:
        base = re.match(r"FROM (\S+)", chain[0]).group(1)
        if base not in names:
            return "".join(chain)
        chain.insert(0, names[base])


def apt_layers(dockerfile):
    """[(layer title, [package...])] of the final image's apt-get installs."""
    final = final_stages(open(dockerfile).read())
    layers = []
    # each instruction with the comment lines just above it
    for m in re.finditer(r"((?:^#.*\n)*)^RUN ((?:.*\\\n)*.*)$", final, re.M):
        run = m.group(2).replace("\\\n", " ")
        if "apt-get install" not in run:
            continue
        title = re.match(r"# (Layer \d+)?", m.group(1)).group(1) or "apt"
        words = run.split("--no-install-recommends", 1)[1].split("&&", 1)[0].split()
        pkgs = [w for w in words if re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", w)]
        layers.append((title, pkgs))
    return layers


def python_modules():
    """The import name of every Python library the Dockerfile installs."""
    mods = []
    for _, pkgs in apt_layers(os.path.join(HERE, "Dockerfile")):
        for p in pkgs:
            if p.startswith("python3-"):
                mods.append(MODULES.get(p, p[len("python3-"):].replace("-", "_")))
    return mods


def npm_names(package_json):
    with open(package_json) as f:
        return sorted(json.load(f)["dependencies"])


def image():
    return os.environ.get("CODEWARD_SANDBOX_IMAGE") or "codeward-sandbox:current"


def in_image(script):
    r = subprocess.run([DOCKER, "run", "--rm", "--network", "none", "--user", "10001:10001",
                        image(), "bash", "-c", script], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        sys.exit("libraries.py: the image answered %d: %s" % (r.returncode, r.stderr))
    return r.stdout


def listing():
    layers = apt_layers(os.path.join(HERE, "Dockerfile"))
    pkgs = [p for _, ps in layers for p in ps]
    npm = npm_names(os.path.join(HERE, "npm", "package.json"))
    out = in_image(
        "dpkg-query -W -f '${Package}\\t${Version}\\n' %s; "
        "cd /usr/local/lib/node_modules && for p in %s; do "
        "printf 'npm:%%s\\t%%s\\n' \"$p\" \"$(node -p \"require('./$p/package.json').version\")\"; done"
        % (" ".join(pkgs), " ".join(npm)))
    version = dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)
    lines = ["| package | version | from |", "|---|---|---|"]
    for title, ps in layers:
        for p in ps:
            lines.append("| `%s` | %s | Debian (%s) |" % (p, version.get(p, "**missing**"), title.lower()))
    for p in npm:
        lines.append("| `%s` | %s | npm (`npm/package-lock.json`) |" % (p, version.get("npm:" + p, "**missing**")))
    return "\n".join(lines) + "\n"


def main():
    arg = sys.argv[1] if len(sys.argv) > 1 else ""
    if arg not in ("", "--write", "--check"):
        sys.exit("usage: libraries.py [--write|--check]")
    table = listing()
    if arg == "":
        sys.stdout.write(table)
        return 0
    readme = os.path.join(HERE, "README.md")
    text = open(readme).read()
    i, j = text.index(BEGIN) + len(BEGIN), text.index(END)
    new = text[:i] + "\n" + table + text[j:]
    if arg == "--write":
        with open(readme, "w") as f:
            f.write(new)
        return 0
    if new != text:
        sys.stdout.write("sandbox/README.md's list is not the image's; run sandbox/libraries.py --write\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
