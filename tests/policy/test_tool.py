"""codeward-policy on files (the edits themselves are test_edit.c's):

- pin-images fills the shipped template's placeholder line and nothing else;
  set then changes one line; check accepts the result and prints its
  identity, the sha256 of its bytes;
- repin moves the lines pinned to the id an image name has, prints each
  change, keeps the old file as FILE.prev; nothing to move writes nothing;
- diff prints the departures from the default and exits 0, 1 or 2 like
  diff(1);
- an edit replaces the file by a rename (a new inode), with the old file's
  mode, and leaves no temporary file beside it;
- a refused edit (a value that does not parse, an unknown key or section, a
  file that is wrong already) exits 1 with FILE:LINE on stderr and leaves the
  file as it was: same bytes, same inode, nothing beside it;
- several settings in one call are made in order, each must parse, and the
  file is written once;
- wrong arguments: the usage and exit status 2.

Needs no Docker engine.
"""
import hashlib
import os
import subprocess
import tempfile

from cwtest import check, main

SOURCE = os.environ["CW_SOURCE"]
TOOL = os.path.join(os.environ["CW_BUILD"], "policy", "codeward-policy")
IMG = "sha256:" + "0123456789abcdef" * 4
TEMPLATE = open(os.path.join(SOURCE, "policy", "default.policy")).read()


def tool(*args):
    r = subprocess.run([TOOL] + list(args), capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def policy_file(text, mode=0o640):
    d = tempfile.mkdtemp(prefix="cw-policy-tool-")
    path = os.path.join(d, "codeward.policy")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def line_of(prefix):
    """the number of the template's line that starts with prefix"""
    return [i for i, l in enumerate(TEMPLATE.split("\n"), 1) if l.startswith(prefix)][0]


def lines_changed(a, b):
    a, b = a.split("\n"), b.split("\n")
    check(len(a) == len(b), "line count %d -> %d" % (len(a), len(b)))
    return [(x, y) for x, y in zip(a, b) if x != y]


def test_pin_then_set():
    path = policy_file(TEMPLATE)
    rc, out, err = tool("check", path)
    check(rc == 1 and err.startswith(path + ":") and "@SANDBOX_IMAGE@" in err, "template %r" % err)
    rc, out, err = tool("pin-images", IMG, path)
    check(rc == 0 and out == "" and err == "", "pin-images: %d %r" % (rc, err))
    pinned = open(path).read()
    check(lines_changed(TEMPLATE, pinned) == [("sandbox         @SANDBOX_IMAGE@",
                                               "sandbox         " + IMG)],
          "pin-images changed %r" % lines_changed(TEMPLATE, pinned))
    rc, out, err = tool("set", "sandbox", "gpu", "all", path)
    check(rc == 0 and err == "", "set: %d %r" % (rc, err))
    changed = lines_changed(pinned, open(path).read())
    check(len(changed) == 1 and changed[0][1] == "gpu             all", "set changed %r" % changed)
    check(tool("check", path)[:3] == (0, identity(path), ""), "check of the edited file")


def identity(path):
    data = open(path, "rb").read()
    return "policy sha256:%s (%d bytes)\n" % (hashlib.sha256(data).hexdigest(), len(data))


def test_repin_moves_only_the_pins():
    img2 = "sha256:" + "fedcba9876543210" * 4
    good = TEMPLATE.replace("@SANDBOX_IMAGE@", IMG).replace(
        "[images]\n", "[images]\nmine   %s   # the admin's own\n" % img2)
    good = good.replace("sandbox         " + IMG, "sandbox  " + IMG + "  # up's")
    path = policy_file(good, 0o640)
    before = os.stat(path)
    rc, out, err = tool("repin", "sandbox", img2, path)
    want = good.replace("sandbox  " + IMG, "sandbox  " + img2)
    check(rc == 0 and err == "", "repin: %d %r" % (rc, err))
    check(out == "%s:%d: sandbox %s -> %s\n" % (path, good.split("\n").index(
        "sandbox  " + IMG + "  # up's") + 1, IMG, img2), "repin said %r" % out)
    check(open(path).read() == want, "repin changed %r" % lines_changed(good, open(path).read()))
    check(open(path + ".prev").read() == good and os.stat(path + ".prev").st_ino == before.st_ino,
          "the previous file is not kept as .prev")
    check(os.stat(path).st_mode & 0o7777 == 0o640, "mode")
    # nothing to move: nothing written, nothing said
    rc, out, err = tool("repin", "sandbox", img2, path)
    check((rc, out, err) == (0, "", "") and os.stat(path).st_ino != before.st_ino and
          open(path).read() == want, "a second repin: %d %r %r" % (rc, out, err))
    rc, out, err = tool("repin", "other", IMG, path)
    check(rc == 0 and out == "" and err == "%s: no image 'other' in [images]: nothing to re-pin\n"
          % path and open(path).read() == want, "no such image: %d %r" % (rc, err))
    # a broken file is not touched: FILE:LINE, exit 1
    broken = policy_file(good.replace("memory          512M", "memory          512MB"))
    rc, out, err = tool("repin", "sandbox", img2, broken)
    check(rc == 1 and out == "" and err.startswith(broken + ":%d: '512MB'" % (line_of("memory ") + 1)),
          "repin of a broken file: %d %r" % (rc, err))
    check(sorted(os.listdir(os.path.dirname(broken))) == ["codeward.policy"], "left beside it")


def test_diff_exit_status():
    base = os.path.join(SOURCE, "policy", "default.policy")
    path = policy_file(TEMPLATE.replace("@SANDBOX_IMAGE@", IMG))
    check(tool("diff", base, path) == (0, "", ""), "the pinned default against itself")
    check(tool("set", "sandbox", "memory", "256M", path)[0] == 0, "set")
    rc, out, err = tool("diff", base, path)
    check(rc == 1 and err == "" and out == "[sandbox] memory: 512M -> 256M\n"
          "    # RAM; a program above it is killed (out of memory)\n", "diff: %d %r %r" % (rc, out, err))
    rc, out, err = tool("diff", base, base)
    check(rc == 2 and out == "" and err.startswith(base + ":") and "@SANDBOX_IMAGE@" in err,
          "diff of a file that does not parse: %d %r" % (rc, err))
    rc, out, err = tool("diff", base, "/nonexistent/p")
    check(rc == 2 and err == "/nonexistent/p: No such file or directory\n", "missing: %r" % err)


def test_several_settings_in_order():
    # isolation container, whichever the shipped default is (under jail,
    # runtime runsc needs jail-runsc-caps too: below)
    path = policy_file(TEMPLATE.replace("@SANDBOX_IMAGE@", IMG))
    rc, _, err = tool("set", "sandbox", "isolation", "container", path)
    check(rc == 0, err)
    good = open(path).read()
    # only the result must parse: a result that does not is refused, and
    # nothing written
    rc, _, err = tool("set", "auth", "mode", "api-key+jwt", "sandbox", "pids", "256", path)
    check(rc == 1 and "[auth] mode api-key+jwt needs jwt-public-key" in err, err)
    check(open(path).read() == good, "a refused edit wrote the file")
    # keys that need one another: runtime runsc, isolation jail and
    # jail-runsc-caps, refused one at a time, taken together
    jail = policy_file(good)
    rc, _, err = tool("set", "sandbox", "isolation", "jail", jail)
    check(rc == 0, err)
    runc_jail = open(jail).read()
    for args in (("sandbox", "runtime", "runsc"),
                 ("sandbox", "jail-runsc-caps", "SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP")):
        rc, _, err = tool("set", "sandbox", "pids", "1024", *args, jail)
        check(rc == 1 and "jail-runsc-caps" in err, "%r: %d %r" % (args, rc, err))
        check(open(jail).read() == runc_jail, "%r: a refused edit wrote the file" % (args,))
    # (and pids 1024 at least: gVisor's threads under jail, policy/policy.c)
    rc, _, err = tool("set", "sandbox", "jail-runsc-caps", "SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP",
                      "sandbox", "pids", "256", "sandbox", "runtime", "runsc", jail)
    check(rc == 1 and "at least 1024" in err, err)
    rc, _, err = tool("set", "sandbox", "jail-runsc-caps", "SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP",
                      "sandbox", "pids", "1024", "sandbox", "runtime", "runsc", jail)
    check(rc == 0, err)
    check(sorted(y for _, y in lines_changed(runc_jail, open(jail).read())) ==
          ["jail-runsc-caps SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP", "pids            1024",
           "runtime         runsc"], "changed %r" % lines_changed(runc_jail, open(jail).read()))
    # the order of one edit's settings no longer matters
    rc, _, err = tool("set", "auth", "mode", "api-key+jwt", "auth", "jwt-public-key", "/etc/j.pem",
                      "sandbox", "pids", "256", "sandbox", "runtime", "runsc", path)
    check(rc == 0, err)
    check(sorted(y for _, y in lines_changed(good, open(path).read())) ==
          ["jwt-public-key  /etc/j.pem", "mode            api-key+jwt", "pids            256",
           "runtime         runsc"], "changed %r" % lines_changed(good, open(path).read()))


def test_replaced_by_rename_with_its_mode():
    path = policy_file(TEMPLATE.replace("@SANDBOX_IMAGE@", IMG), 0o640)
    before = os.stat(path)
    rc, _, err = tool("set", "time", "default", "10s", path)
    check(rc == 0, "set: %r" % err)
    after = os.stat(path)
    check(after.st_ino != before.st_ino, "not replaced by a rename")
    check(after.st_mode & 0o7777 == 0o640, "mode %o" % (after.st_mode & 0o7777))
    check(os.listdir(os.path.dirname(path)) == ["codeward.policy"],
          "left beside it: %r" % os.listdir(os.path.dirname(path)))


def test_refused_edits_leave_the_file():
    good = TEMPLATE.replace("@SANDBOX_IMAGE@", IMG)
    cases = [
        (good, ("set", "sandbox", "memory", "512MB"), ":%d: '512MB': unknown size unit 'MB'" % line_of("memory ")),
        (good, ("set", "sandbox", "memroy", "1G"), " (the line this edit adds): unknown key 'memroy'"),
        (good, ("set", "sandbx", "memory", "1G"), " (the line this edit adds): unknown section 'sandbx'"),
        (good, ("set", "auth", "mode", "jwt"), ":%d: [auth] mode jwt needs jwt-public-key" % line_of("mode ")),
        (good, ("set", "sandbox", "memory", "1G # no"), ": value '1G # no'"),
        (TEMPLATE, ("set", "sandbox", "memory", "1G"), ":%d: image 'sandbox': '@SANDBOX_IMAGE@'" % line_of("sandbox ")),
        (good, ("pin-images", "codeward-sandbox:current"), ":%d: image 'sandbox': 'codeward-sandbox" % line_of("sandbox ")),
    ]
    for text, args, want in cases:
        path = policy_file(text)
        before = os.stat(path)
        rc, out, err = tool(*(args + (path,)))
        check(rc == 1 and out == "", "%r: exit %d" % (args, rc))
        check(err.startswith(path) and want in err and err.count("\n") == 1,
              "%r: stderr %r, want %r" % (args, err, want))
        check(open(path).read() == text and os.stat(path).st_ino == before.st_ino,
              "%r: the file changed" % (args,))
        check(os.listdir(os.path.dirname(path)) == ["codeward.policy"], "%r: left %r" %
              (args, os.listdir(os.path.dirname(path))))


def test_usage():
    for args in ((), ("set", "auth", "mode"), ("set", "auth", "mode", "jwt", "auth", "x"),
                 ("pin-images", IMG), ("check",), ("edit", "x"), ("repin", "sandbox", IMG),
                 ("diff", "x")):
        rc, out, err = tool(*args)
        check(rc == 2 and err.startswith("usage: codeward-policy"), "%r: %d %r" % (args, rc, err))
    rc, _, err = tool("check", "/nonexistent/codeward.policy")
    check(rc == 1 and err == "/nonexistent/codeward.policy: No such file or directory\n", err)


if __name__ == "__main__":
    main(globals())
