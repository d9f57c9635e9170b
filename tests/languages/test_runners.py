#!/usr/bin/python3
"""Language runners in the sandbox image, against a real dockerd.

    test_runners.py LANG     hello, files, args and error for one language
    test_runners.py py-extra matplotlib, pandas and the data stack
    test_runners.py r-extra  the R packages

Each case is one execution in a fresh container created as sockproxy creates
them (see sandbox.py). Without a Docker engine the test fails; it never skips.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import programs  # noqa: E402
import sandbox  # noqa: E402

failures = 0
passes = 0


def check(name, ok, result=None, why=""):
    global failures, passes
    if ok:
        passes += 1
        print("ok - %s (%.2f s)" % (name, result.seconds if result else 0))
    else:
        failures += 1
        print("not ok - %s %s\n    %r" % (name, why, result))


def common(name, r):
    """What holds after every run: the program text is gone from /mnt/data."""
    leaked = [f for f in r.files if f.startswith(".codeward")]
    check(name + ": program text not left in /mnt/data", not leaked, r, "left: %r" % leaked)


def language(lang):
    p = programs.PROGRAMS[lang]

    r = sandbox.run(lang, p["hello"])
    check(lang + " hello", r.status == 0 and r.stdout == programs.HELLO, r)
    common(lang + " hello", r)

    r = sandbox.run(lang, p["files"], files={"input.txt": programs.INPUT})
    check(lang + " files", r.status == 0 and
          r.files.get("output.txt") == programs.OUTPUT.encode() and
          r.files.get("input.txt") == programs.INPUT.encode(), r)
    common(lang + " files", r)

    r = sandbox.run(lang, p["args"], args=programs.ARGS)
    check(lang + " args", r.status == 0 and r.stdout == programs.ARGS_OUT, r)

    code, expect = p["error"]
    r = sandbox.run(lang, code)
    check(lang + " error", r.status != 0 and expect in r.stderr, r,
          "(want a non-zero status and %r in stderr)" % expect)


PNG = b"\x89PNG\r\n\x1a\n"


def py_extra():
    # plt.show() saves and closes; a figure left open is saved at exit
    r = sandbox.run("py", "import matplotlib.pyplot as plt\n"
                          "plt.plot([1, 2, 3], [1, 4, 9])\nplt.show()\n"
                          "plt.figure()\nplt.bar(['a', 'b'], [3, 5])\n")
    pngs = sorted(f for f in r.files if f.endswith(".png"))
    check("py matplotlib: show() and an open figure come back as PNG",
          r.status == 0 and pngs == ["plot_1.png", "plot_2.png"] and
          all(r.files[f].startswith(PNG) for f in pngs), r)

    # a figure the program saved itself is not saved twice
    r = sandbox.run("py", "import matplotlib\nmatplotlib.use('Agg')\n"
                          "import matplotlib.pyplot as plt\n"
                          "plt.plot([1, 2])\nplt.savefig('chart.png')\n")
    pngs = sorted(f for f in r.files if f.endswith(".png"))
    check("py matplotlib: savefig() only, no extra plot", r.status == 0 and
          pngs == ["chart.png"] and r.files["chart.png"].startswith(PNG), r)

    # a figure left open by a program that fails is still saved
    r = sandbox.run("py", "import matplotlib.pyplot as plt\nplt.plot([3, 1])\n"
                          "raise SystemExit(3)\n")
    check("py matplotlib: figure saved when the program exits non-zero",
          r.status == 3 and "plot_1.png" in r.files, r)

    # pandas reads an uploaded CSV (in a sub-folder) and writes Excel
    csv = "city,temp\nOslo,3\nRome,17\nCairo,29\n"
    r = sandbox.run("py", "import pandas as pd\ndf = pd.read_csv('in/data.csv')\n"
                          "print(int(df['temp'].sum()), len(df))\n"
                          "df.to_excel('out.xlsx', index=False)\n",
                    files={"in/data.csv": csv})
    check("py pandas: reads a CSV, writes xlsx", r.status == 0 and
          r.stdout == "49 3\n" and r.files.get("out.xlsx", b"").startswith(b"PK"), r)

    # the rest of the data stack imports
    mods = ["numpy", "scipy.stats", "sklearn.linear_model", "statsmodels.api", "seaborn",
            "sympy", "networkx", "openpyxl", "xlrd", "xlsxwriter", "odf", "docx", "pypdf",
            "reportlab.pdfgen.canvas", "PIL.Image", "bs4", "lxml.etree", "yaml", "tabulate",
            "jinja2", "markdown", "chardet", "dateutil", "pytz", "joblib", "tqdm"]
    r = sandbox.run("py", "import importlib, sys\n"
                          "for m in sys.argv[1:]:\n    importlib.import_module(m)\n"
                          "print('imported', len(sys.argv) - 1)\n", args=mods)
    check("py data stack imports", r.status == 0 and
          r.stdout == "imported %d\n" % len(mods), r)

    # an uploaded module imports as it would beside the script
    r = sandbox.run("py", "import helper_cw\nprint(helper_cw.X)\n",
                    files={"helper_cw.py": "X = 42\n"})
    check("py imports an uploaded module", r.status == 0 and r.stdout == "42\n", r)


def r_extra():
    # the tidyverse core reads a CSV; ggplot2 saves a PNG with the cairo device
    csv = "city,temp\nOslo,3\nRome,17\nCairo,29\n"
    r = sandbox.run("r", "suppressPackageStartupMessages({library(dplyr); library(ggplot2)})\n"
                         "df <- readr::read_csv('data.csv', show_col_types = FALSE)\n"
                         "cat(df %>% summarise(t = sum(temp)) %>% pull(t), '\\n')\n"
                         "p <- ggplot(df, aes(city, temp)) + geom_col()\n"
                         "ggsave('temps.png', p, width = 4, height = 3, dpi = 72)\n",
                    files={"data.csv": csv})
    check("r dplyr, readr and ggplot2", r.status == 0 and r.stdout.strip() == "49" and
          r.files.get("temps.png", b"").startswith(PNG), r)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    what = sys.argv[1]
    print("image: %s" % sandbox.image())
    try:
        if what == "py-extra":
            py_extra()
        elif what == "r-extra":
            r_extra()
        elif what in programs.PROGRAMS:
            language(what)
        else:
            print("unknown: %s" % what)
            return 2
    except Exception as e:  # no engine, no image: a failure, never a skip
        check("%s: the sandbox ran" % what, False, None, "%s: %s" % (type(e).__name__, e))
    print("%d passed, %d failed" % (passes, failures))
    return 1 if failures or not passes else 0


if __name__ == "__main__":
    sys.exit(main())
