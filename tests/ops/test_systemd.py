"""systemd/'s units: `systemd-analyze verify` reports nothing on them (with
the build tree's binaries in place of the installed ones, since verify
checks that each ExecStart program exists), and each keeps the hardening
SECURITY.md promises."""
import os
import re
import shutil
import subprocess
import tempfile

from cwtest import BUILD, SOURCE, check, main

UNITS = ["codeward-sockproxy.service", "codeward.service", "codeward.socket"]
SERVICES = [u for u in UNITS if u.endswith(".service")]
INSTALLED = "/usr/local/libexec/codeward/"
HARDENING = ["NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
             "PrivateDevices=yes", "ProtectKernelTunables=yes", "ProtectKernelModules=yes",
             "ProtectKernelLogs=yes", "ProtectControlGroups=yes", "RestrictNamespaces=yes",
             "LockPersonality=yes", "MemoryDenyWriteExecute=yes", "RestrictRealtime=yes",
             "RestrictSUIDSGID=yes", "SystemCallArchitectures=native", "Restart=always",
             "RestartSec=100ms"]


def unit_text(name):
    with open(os.path.join(SOURCE, "systemd", name)) as f:
        return f.read()


def test_verify():
    tool = shutil.which("systemd-analyze")
    check(tool is not None, "systemd-analyze is missing (apt-get install systemd)")
    d = tempfile.mkdtemp(prefix="cw-systemd-")
    for name in UNITS:
        text = re.sub(re.escape(INSTALLED) + r"codeward-(\w+)",
                      lambda m: os.path.join(BUILD, m.group(1), "codeward-" + m.group(1)),
                      unit_text(name))
        check(not re.search(r"^Exec.*" + re.escape(INSTALLED), text, re.M),
              "%s: an installed path left" % name)
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    env = dict(os.environ, SYSTEMD_UNIT_PATH=d + ":")
    r = subprocess.run([tool, "verify", "--man=no"] + [os.path.join(d, n) for n in UNITS],
                       env=env, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and r.stdout == "" and r.stderr == "",
          "systemd-analyze verify: %d\n%s%s" % (r.returncode, r.stdout, r.stderr))


def test_hardening():
    for name in SERVICES:
        lines = unit_text(name).splitlines()
        for opt in HARDENING:
            check(opt in lines, "%s lacks %s" % (name, opt))
        caps = [l for l in lines if l.startswith("CapabilityBoundingSet=")]
        check(len(caps) == 1 and "CAP_SYS_ADMIN" not in caps[0], "%s: %r" % (name, caps))
    check("Requires=codeward-sockproxy.service codeward.socket" in
          unit_text("codeward.service").splitlines(),
          "codeward.service does not require sockproxy's unit and its socket")


def test_socket_matches_service():
    """systemd holds the API's listener: the address privd is told is the
    socket unit's (privd takes the socket systemd hands it; the address
    names it in logs)."""
    sock = [l.split("=", 1)[1] for l in unit_text("codeward.socket").splitlines()
            if l.startswith("ListenStream=")]
    svc = re.search(r"--listen (\S+)", unit_text("codeward.service"))
    check(len(sock) == 1 and svc is not None and svc.group(1) == sock[0],
          "codeward.socket listens on %r, codeward.service says %r" %
          (sock, svc and svc.group(1)))


if __name__ == "__main__":
    main(globals())
