#!/usr/bin/env python3
"""privd's files call down, never back up: the graph of calls between the
.c files of privd's library (read off `nm` of its objects: a file that
leaves a symbol undefined calls the file that defines it) has no cycle, and
the pool and the sessions are leaves of the run path: they hand out and
take back sandboxes through sandbox.c and docker.c, and call nothing of
the run, the monitor or the stages.

usage: check_graph.py NM LIBRARY     (a self-test runs first)
"""
import collections
import subprocess
import sys

# what pool.c and session.c may call in privd; anything else is a call up
LEAVES = {
    "pool.c": {"sandbox.c", "docker.c", "dkhttp.c", "record.c"},
    "session.c": {"sandbox.c", "docker.c", "dkhttp.c", "record.c", "worker.c"},
    "wpool.c": {"sandbox.c", "docker.c", "dkhttp.c", "record.c", "worker.c"},
}


def edges_of(nm_lines):
    """{caller file: {callee file: {symbols}}} from `nm -A` lines."""
    defined, undefined = {}, collections.defaultdict(set)
    for line in nm_lines:
        head, _, rest = line.rpartition(".o:")
        if not head:
            continue
        obj = head.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        if not obj.endswith(".c"):
            continue
        f = rest.split()
        if len(f) == 3 and f[1] in "TDBRCGSV":
            defined[f[2]] = obj
        elif len(f) == 2 and f[0] == "U":
            undefined[obj].add(f[1])
    edges = collections.defaultdict(lambda: collections.defaultdict(set))
    for obj, syms in undefined.items():
        for s in syms:
            if s in defined and defined[s] != obj:
                edges[obj][defined[s]].add(s)
    return edges


def cycle(edges):
    """one cycle as a list of files, or None"""
    state = {}

    def visit(n, path):
        state[n] = 1
        for m in sorted(edges.get(n, {})):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state:
                c = visit(m, path + [m])
                if c:
                    return c
        state[n] = 2
        return None

    for n in sorted(edges):
        if n not in state:
            c = visit(n, [n])
            if c:
                return c
    return None


def problems(edges):
    out = []
    c = cycle(edges)
    if c:
        hops = [f"{a} -> {b} ({', '.join(sorted(edges[a][b]))})"
                for a, b in zip(c, c[1:])]
        out.append("a cycle: " + "; ".join(hops))
    for leaf, allowed in LEAVES.items():
        for callee, syms in sorted(edges.get(leaf, {}).items()):
            if callee not in allowed:
                out.append(f"{leaf} calls up into {callee}: "
                           + ", ".join(sorted(syms)))
    return out


def self_test():
    """the check finds a planted cycle and a planted call up"""
    lines = [
        "lib.a:run.c.o:0000 T run_start",
        "lib.a:run.c.o:         U pool_take",
        "lib.a:pool.c.o:0000 T pool_take",
        "lib.a:pool.c.o:         U run_start",
    ]
    found = problems(edges_of(lines))
    assert any(p.startswith("a cycle:") for p in found), found
    assert any("pool.c calls up into run.c" in p for p in found), found
    assert problems(edges_of(lines[:3])) == []


def main():
    self_test()
    nm, lib = sys.argv[1], sys.argv[2]
    lines = subprocess.run([nm, "-A", lib], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    edges = edges_of(lines)
    if len(edges) < 5:
        print(f"check_graph: {lib}: too few calls between files "
              f"({len(edges)}): nm read nothing?", file=sys.stderr)
        return 1
    for a in sorted(edges):
        for b in sorted(edges[a]):
            print(f"{a} -> {b}: {' '.join(sorted(edges[a][b]))}")
    found = problems(edges)
    for p in found:
        print(f"check_graph: {p}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
