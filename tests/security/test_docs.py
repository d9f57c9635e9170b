"""SECURITY.md's syscall tables name exactly the calls common/filter.c allows
for each daemon, and its IPC catalogue the sizes common/ipc.h asserts: the
document is part of the code."""
import os
import re

from cwtest import SOURCE, check, main

FILTER = open(os.path.join(SOURCE, "common", "filter.c")).read()
IPC_H = open(os.path.join(SOURCE, "common", "ipc.h")).read()
DOC = open(os.path.join(SOURCE, "SECURITY.md")).read()


def array(name):
    m = re.search(r"static const int %s\[\] = \{(.*?)\n\};" % name, FILTER, re.S)
    check(m is not None, "filter.c has no %s" % name)
    return set(re.findall(r"SC\((\w+)\)", m.group(1)))


def code_lists():
    body = FILTER[FILTER.index("filter_apply(enum cw_role role)\n{"):]
    switch = body.index("switch (role)")
    # rules with arguments: before the switch they are everyone's
    base = array("base_syscalls") | set(re.findall(r"SC\((\w+)\)", body[:switch]))
    roles = {}
    for role, case in (("frontd", "ROLE_FRONTD"), ("privd", "ROLE_PRIVD"),
                       ("sockproxy", "ROLE_SOCKPROXY")):
        start = body.index("case %s:" % case)
        end = body.index("break;", start)
        roles[role] = array(role + "_syscalls") | set(re.findall(r"SC\((\w+)\)", body[start:end]))
    return base, roles


def doc_table(heading):
    m = re.search(r"^#### %s\b.*?\n(.*?)(?=^#### |^## |\Z)" % re.escape(heading), DOC, re.S | re.M)
    check(m is not None, "SECURITY.md has no '#### %s'" % heading)
    names = re.findall(r"^\| `(\w+)` \|", m.group(1), re.M)
    check(len(names) == len(set(names)), "%s: a call is listed twice" % heading)
    return set(names)


def test_syscall_tables_match_the_filter():
    base, roles = code_lists()
    check(len(base) > 20, "base parsed as %r" % sorted(base))
    got = doc_table("base")
    check(got == base, "base: only in filter.c %s, only in SECURITY.md %s"
          % (sorted(base - got), sorted(got - base)))
    for role, calls in roles.items():
        got = doc_table(role)
        check(got == calls, "%s: only in filter.c %s, only in SECURITY.md %s"
              % (role, sorted(calls - got), sorted(got - calls)))
        check(not (calls & base), "%s repeats base calls %s" % (role, sorted(calls & base)))


def test_forbidden_calls_stay_forbidden():
    base, roles = code_lists()
    for role, calls in roles.items():
        allowed = base | calls
        for bad in ("execve", "execveat", "ptrace", "fork", "vfork", "bind", "listen",
                    "setuid", "setgid", "setresuid", "setgroups", "mount", "chroot",
                    "process_vm_writev", "kill"):
            check(bad not in allowed, "%s allows %s" % (role, bad))
    check("socket" not in base | roles["frontd"] and "connect" not in base | roles["frontd"],
          "frontd may make sockets")
    check("openat" not in base | roles["privd"], "privd may open files")


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
                        ("METRICS", "metrics"), ("METRICS_REPLY", "metrics_reply")):
        m = re.search(r"^\| `%s` \| (\w+) \| (\d+) \|" % msg, DOC, re.M)
        check(m is not None, "SECURITY.md's catalogue has no %s" % msg)
        check(m.group(2) == sizes.get(struct), "%s: SECURITY.md says %s, ipc.h asserts %s"
              % (msg, m.group(2), sizes.get(struct)))


if __name__ == "__main__":
    main(globals())
