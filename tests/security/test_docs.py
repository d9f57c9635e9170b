"""SECURITY.md's syscall tables name exactly the calls each daemon's filter
allows (common/filter.c's base, frontd/filter.c, privd/filter.c,
sockproxy/filter.c, the policy reader's policy/reader_filter.c), each
argument rule's constants in its row, and its IPC
catalogue the sizes common/ipc.h asserts: the document is part of the code."""
import os
import re

from cwtest import SOURCE, check, main

FILTERS = {name: open(os.path.join(SOURCE, name, "filter.c")).read()
           for name in ("common", "frontd", "privd", "sockproxy")}
FILTERS["reader"] = open(os.path.join(SOURCE, "policy", "reader_filter.c")).read()
IPC_H = open(os.path.join(SOURCE, "common", "ipc.h")).read()
DOC = open(os.path.join(SOURCE, "SECURITY.md")).read()
RULE = re.compile(r"FILTER_ARG\w*\((\w+),([^)]*)\)")


def array(src, kind, name):
    m = re.search(r"static const %s %s\[\] = \{(.*?)\n\};" % (kind, name), src, re.S)
    check(m is not None, "no %s" % name)
    return m.group(1)


def code_lists():
    """{list: {call: set of the constants its argument rules name}}, one list
    for the base and one per daemon; a call without rules has an empty set."""
    lists = {}
    for name, prefix in (("base", "common"), ("frontd", "frontd"), ("privd", "privd"),
                         ("sockproxy", "sockproxy"), ("reader", "reader")):
        src = FILTERS[prefix]
        calls = {c: set() for c in re.findall(r"SC\((\w+)\)",
                                               array(src, "int", name + "_syscalls"))}
        for call, args in RULE.findall(array(src, "struct filter_rule", name + "_rules")):
            calls.setdefault(call, set()).update(re.findall(r"\b[A-Z][A-Z0-9_]+\b", args))
        lists[name] = calls
    # the one rule that is not an allow: clone3 fails with ENOSYS
    check("SC(clone3)" in FILTERS["common"], "common/filter.c no longer names clone3")
    lists["base"]["clone3"] = {"ENOSYS"}
    return lists


def doc_table(heading):
    m = re.search(r"^#### %s\b.*?\n(.*?)(?=^#### |^## |\Z)" % re.escape(heading), DOC, re.S | re.M)
    check(m is not None, "SECURITY.md has no '#### %s'" % heading)
    rows = re.findall(r"^\| `(\w+)` \|(.*)$", m.group(1), re.M)
    names = [r[0] for r in rows]
    check(len(names) == len(set(names)), "%s: a call is listed twice" % heading)
    return dict(rows)


def test_syscall_tables_match_the_filters():
    lists = code_lists()
    base = lists["base"]
    check(len(base) > 20, "base parsed as %r" % sorted(base))
    for name, calls in lists.items():
        got = doc_table(name)
        check(set(got) == set(calls), "%s: only in the filter %s, only in SECURITY.md %s"
              % (name, sorted(set(calls) - set(got)), sorted(set(got) - set(calls))))
        for call, consts in calls.items():
            missing = sorted(c for c in consts if "`%s`" % c not in got[call])
            check(not missing, "%s: SECURITY.md's %s row does not name %s" % (name, call, missing))
        if name != "base":
            check(not (set(calls) & set(base)), "%s repeats base calls %s"
                  % (name, sorted(set(calls) & set(base))))


def test_forbidden_calls_stay_forbidden():
    lists = code_lists()
    base = set(lists["base"]) - {"clone3"}
    for name in ("frontd", "privd", "sockproxy", "reader"):
        allowed = base | set(lists[name])
        for bad in ("execve", "execveat", "ptrace", "fork", "vfork", "bind", "listen",
                    "setuid", "setgid", "setresuid", "setgroups", "mount", "chroot",
                    "process_vm_writev", "kill", "ioctl", "pkey_mprotect"):
            check(bad not in allowed, "%s allows %s" % (name, bad))
        # argument rules, never the call with any arguments
        for call in ("mmap", "mprotect", "clone", "fcntl", "setsockopt", "socket", "prctl"):
            check(call not in allowed or lists[name].get(call) or lists["base"].get(call),
                  "%s allows %s without an argument rule" % (name, call))
    check(lists["base"]["mmap"] == {"PROT_EXEC"} and lists["base"]["mprotect"] == {"PROT_EXEC"},
          "mmap and mprotect: never PROT_EXEC")
    check("socket" not in lists["frontd"] and "connect" not in lists["frontd"],
          "frontd may make sockets")
    for name in ("privd", "sockproxy"):
        check(lists[name].get("socket") == {"AF_UNIX"}, "%s: sockets not AF_UNIX only" % name)
    check("openat" not in lists["privd"] and "openat" not in lists["sockproxy"],
          "privd or sockproxy may open files")
    # the reader: no socket of its own, one read-only open
    check(not ({"socket", "connect", "accept4", "recvmsg"} & set(lists["reader"])),
          "the policy reader may talk to more than its daemon")
    check(lists["reader"].get("openat") == {"O_RDONLY", "O_CLOEXEC", "O_NOCTTY", "O_NONBLOCK"},
          "the policy reader's open: %r" % lists["reader"].get("openat"))
    check(lists["reader"].get("memfd_create") == {"MFD_CLOEXEC", "MFD_ALLOW_SEALING"} and
          lists["reader"].get("fcntl") == {"F_ADD_SEALS"}, "the policy reader's memfd rules")


def test_sockproxy_allowlist_matches_its_readme():
    """SECURITY.md carries sockproxy's byte-by-byte allowlist and refusal
    classes; they must stay the same text as sockproxy/README.md's."""
    readme = open(os.path.join(SOURCE, "sockproxy", "README.md")).read()
    want = readme[readme.index("## What it allows, byte by byte"):readme.index("## Tests")]
    want = want.replace("\n### ", "\n#### ").replace("\n## ", "\n### ")
    want = want.replace("## What it allows, byte by byte", "### What sockproxy allows, byte by byte", 1)
    start = DOC.index("### What sockproxy allows, byte by byte")
    got = DOC[start:DOC.index("\n## ", start)]
    check(got.strip() == want.strip(), "SECURITY.md's sockproxy section differs from sockproxy/README.md")


def test_ipc_catalogue_sizes():
    sizes = dict(re.findall(r'_Static_assert\(sizeof\(struct ipc_(\w+)\) == (\d+)', IPC_H))
    for msg, struct in (("EXEC_BEGIN", "exec_begin"), ("EXEC_FILE", "exec_file"),
                        ("EXEC_RUN", "exec_run"), ("HEALTH", "health"),
                        ("EXEC_DONE", "exec_done"), ("HEALTH_REPLY", "health_reply"),
                        ("METRICS", "metrics"), ("METRICS_REPLY", "metrics_reply"),
                        ("POLICY", "policy"), ("CONN_HOLD", "conn_hold"),
                        ("CONN_STATE", "conn_state"), ("CONN_DROP", "conn_drop"),
                        ("PTC_LINE", "ptc_line"), ("PTC_REPLY", "ptc_line"),
                        ("EXEC_CANCEL", "exec_cancel")):
        m = re.search(r"^\| `%s` \| (\w+) \| (\d+) \|" % msg, DOC, re.M)
        check(m is not None, "SECURITY.md's catalogue has no %s" % msg)
        check(m.group(2) == sizes.get(struct), "%s: SECURITY.md says %s, ipc.h asserts %s"
              % (msg, m.group(2), sizes.get(struct)))


if __name__ == "__main__":
    main(globals())
