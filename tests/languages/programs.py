"""The programs every language test runs, one set per LibreChat language.

hello   prints "hello, world"
files   reads /mnt/data/input.txt ("codeward") and writes output.txt
        ("got: codeward")
args    prints its arguments joined by '|'
error   fails: a compile error for compiled languages, a run-time error for
        the others; 'expect' is a piece of the message stderr must hold
"""

HELLO = "hello, world\n"
INPUT = "codeward\n"
OUTPUT = "got: codeward\n"
# a space, a dollar sign that no shell may expand, a dash, and UTF-8
ARGS = ["a b", "$HOME", "-x", "\u00fc\u20ac"]
ARGS_OUT = "|".join(ARGS) + "\n"

PROGRAMS = {
    "py": {
        "hello": 'print("hello, world")\n',
        "files": 'with open("input.txt") as f:\n    s = f.read().strip()\n'
                 'with open("output.txt", "w") as f:\n    f.write("got: " + s + "\\n")\n',
        "args": 'import sys\nprint("|".join(sys.argv[1:]))\n',
        "error": ('x = 1\nraise ValueError("boom")\n', "ValueError: boom"),
    },
    "bash": {
        "hello": 'echo "hello, world"\n',
        "files": 'echo "got: $(cat input.txt)" > output.txt\n',
        "args": 'IFS="|"; echo "$*"\n',
        "error": ('set -e\nno_such_command_cw\necho not reached\n', "command not found"),
    },
    "js": {
        "hello": 'console.log("hello, world");\n',
        # top-level import: runs as an ES module
        "files": 'import { readFileSync, writeFileSync } from "fs";\n'
                 'const s = readFileSync("input.txt", "utf8").trim();\n'
                 'writeFileSync("output.txt", `got: ${s}\\n`);\n',
        "args": 'console.log(process.argv.slice(2).join("|"));\n',
        "error": ('function f() { throw new Error("boom"); }\nf();\n', "Error: boom"),
    },
    "ts": {
        "hello": 'const greeting: string = "hello, world";\nconsole.log(greeting);\n',
        "files": 'import * as fs from "fs";\n'
                 'const s: string = fs.readFileSync("input.txt", "utf8").trim();\n'
                 'fs.writeFileSync("output.txt", `got: ${s}\\n`);\n',
        "args": 'const a: string[] = process.argv.slice(2);\nconsole.log(a.join("|"));\n',
        "error": ('let x: number = ;\nconsole.log(x);\n', "error TS"),
    },
    "c": {
        "hello": '#include <stdio.h>\nint main(void) { puts("hello, world"); return 0; }\n',
        "files": '#include <stdio.h>\n#include <string.h>\n'
                 'int main(void) {\n  char s[256] = "";\n  FILE *in = fopen("input.txt", "r");\n'
                 '  if (!in || !fgets(s, sizeof s, in)) return 1;\n  s[strcspn(s, "\\n")] = 0;\n'
                 '  FILE *out = fopen("output.txt", "w");\n  if (!out) return 1;\n'
                 '  fprintf(out, "got: %s\\n", s);\n  return fclose(out) != 0;\n}\n',
        "args": '#include <stdio.h>\nint main(int argc, char **argv) {\n'
                '  for (int i = 1; i < argc; i++) printf("%s%s", i > 1 ? "|" : "", argv[i]);\n'
                '  printf("\\n");\n  return 0;\n}\n',
        "error": ('int main(void) { return undeclared_cw; }\n', "undeclared_cw"),
    },
    "cpp": {
        "hello": '#include <iostream>\nint main() { std::cout << "hello, world" << std::endl; }\n',
        "files": '#include <fstream>\n#include <string>\n'
                 'int main() {\n  std::ifstream in("input.txt");\n  std::string s;\n'
                 '  std::getline(in, s);\n  std::ofstream("output.txt") << "got: " << s << "\\n";\n}\n',
        "args": '#include <iostream>\n#include <string>\n#include <vector>\n'
                'int main(int argc, char **argv) {\n'
                '  std::vector<std::string> a(argv + 1, argv + argc);\n  std::string s;\n'
                '  for (size_t i = 0; i < a.size(); i++) s += (i ? "|" : "") + a[i];\n'
                '  std::cout << s << "\\n";\n}\n',
        "error": ('#include <vector>\nint main() { std::vector<int> v; v.no_such_member_cw(); }\n',
                  "no_such_member_cw"),
    },
    "java": {
        # a public class that is not called Main
        "hello": 'public class Hello {\n  public static void main(String[] args) {\n'
                 '    System.out.println("hello, world");\n  }\n}\n',
        # a helper class first, main in the second class
        "files": 'import java.nio.file.*;\n\nclass Helper {\n'
                 '  static String got(String s) { return "got: " + s.strip() + "\\n"; }\n}\n\n'
                 'public class Main {\n  public static void main(String[] args) throws Exception {\n'
                 '    String s = Files.readString(Path.of("input.txt"));\n'
                 '    Files.writeString(Path.of("output.txt"), Helper.got(s));\n  }\n}\n',
        "args": 'class Args {\n  public static void main(String[] args) {\n'
                '    System.out.println(String.join("|", args));\n  }\n}\n',
        "error": ('public class Main {\n  public static void main(String[] args) {\n'
                  '    int x = "text"\n  }\n}\n', "error:"),
    },
    "php": {
        "hello": '<?php\necho "hello, world\\n";\n',
        "files": '<?php\n$s = trim(file_get_contents("input.txt"));\n'
                 'file_put_contents("output.txt", "got: $s\\n");\n',
        # no opening tag: the runner adds one
        "args": 'echo implode("|", array_slice($argv, 1)), "\\n";\n',
        "error": ('<?php\nthrow new Exception("boom");\n', "Uncaught Exception: boom"),
    },
    "rs": {
        "hello": 'fn main() {\n    println!("hello, world");\n}\n',
        "files": 'use std::fs;\nfn main() {\n'
                 '    let s = fs::read_to_string("input.txt").unwrap();\n'
                 '    fs::write("output.txt", format!("got: {}\\n", s.trim())).unwrap();\n}\n',
        "args": 'fn main() {\n    let a: Vec<String> = std::env::args().skip(1).collect();\n'
                '    println!("{}", a.join("|"));\n}\n',
        "error": ('fn main() {\n    let x: i32 = "text";\n}\n', "error[E0308]"),
    },
    "go": {
        "hello": 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hello, world")\n}\n',
        "files": 'package main\n\nimport (\n\t"os"\n\t"strings"\n)\n\nfunc main() {\n'
                 '\tb, err := os.ReadFile("input.txt")\n\tif err != nil {\n\t\tpanic(err)\n\t}\n'
                 '\ts := "got: " + strings.TrimSpace(string(b)) + "\\n"\n'
                 '\tif err := os.WriteFile("output.txt", []byte(s), 0644); err != nil {\n'
                 '\t\tpanic(err)\n\t}\n}\n',
        "args": 'package main\n\nimport (\n\t"fmt"\n\t"os"\n\t"strings"\n)\n\n'
                'func main() {\n\tfmt.Println(strings.Join(os.Args[1:], "|"))\n}\n',
        "error": ('package main\n\nfunc main() {\n\tnoSuchFunctionCw()\n}\n',
                  "undefined: noSuchFunctionCw"),
    },
    "d": {
        "hello": 'import std.stdio;\n\nvoid main() {\n    writeln("hello, world");\n}\n',
        "files": 'import std.file, std.string;\n\nvoid main() {\n'
                 '    auto s = readText("input.txt").strip();\n'
                 '    std.file.write("output.txt", "got: " ~ s ~ "\\n");\n}\n',
        "args": 'import std.stdio, std.array;\n\nvoid main(string[] args) {\n'
                '    writeln(args[1 .. $].join("|"));\n}\n',
        "error": ('void main() {\n    noSuchFunctionCw();\n}\n', "noSuchFunctionCw"),
    },
    "f90": {
        "hello": 'program hello\n  print "(a)", "hello, world"\nend program hello\n',
        "files": 'program files\n  implicit none\n  character(len=256) :: s\n'
                 '  open(10, file="input.txt", status="old", action="read")\n'
                 '  read(10, "(a)") s\n  close(10)\n'
                 '  open(11, file="output.txt", status="replace", action="write")\n'
                 '  write(11, "(a)") "got: " // trim(s)\n  close(11)\nend program files\n',
        "args": 'program args\n  implicit none\n  integer :: i, n\n  character(len=256) :: a\n'
                '  n = command_argument_count()\n  do i = 1, n\n'
                '    call get_command_argument(i, a)\n'
                '    if (i > 1) write(*, "(a)", advance="no") "|"\n'
                '    write(*, "(a)", advance="no") trim(a)\n  end do\n'
                '  write(*, "(a)") ""\nend program args\n',
        "error": ('program broken\n  integer :: x\n  x = = 1\nend program broken\n', "Error"),
    },
    "r": {
        "hello": 'cat("hello, world\\n")\n',
        "files": 's <- readLines("input.txt")\nwriteLines(paste0("got: ", s[1]), "output.txt")\n',
        "args": 'a <- commandArgs(trailingOnly = TRUE)\ncat(paste(a, collapse = "|"), "\\n", sep = "")\n',
        "error": ('f <- function() stop("boom")\nf()\n', "boom"),
    },
}
