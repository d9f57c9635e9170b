#!/usr/bin/python3
"""The thirteen languages end to end: through POST /v1/exec of a whole appliance
(sockproxy, privd, frontd) on the real Docker engine, with the shipped policy
and the sandbox image ./codeward test built.

Per language: hello world; an uploaded input file read from /mnt/data and an
output file that comes back in 'files' (and downloads with the right bytes);
args passed through; a compile or run error reported in stderr with the exit
status. Python: a matplotlib plot comes back as a PNG, pandas reads an uploaded
CSV. R: ggplot2 saves a PNG. The programs are those of test_runners.py
(programs.py), which runs them in containers directly.

    test_api.py [test_NAME...]
"""
import os
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import programs  # noqa: E402
from cwtest import Appliance, check, main  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
app = None


def setup():
    global app
    if app is None:
        app = Appliance(name="languages").start()
    return app


def upload(a, name, data):
    """POST /v1/upload as LibreChat sends it (multipart, the fields before the
    file part); returns the file reference an exec request carries."""
    boundary = "----codeward" + secrets.token_hex(8)
    if isinstance(data, str):
        data = data.encode()
    body = b"".join([
        b"--%s\r\nContent-Disposition: form-data; name=\"entity_id\"\r\n\r\n\r\n" % boundary.encode(),
        b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n" % (boundary.encode(), name.encode()),
        data, b"\r\n--%s--\r\n" % boundary.encode(),
    ])
    st, j = a.request("POST", "/v1/upload", body,
                      headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
    check(st == 200, "upload answered %s: %r" % (st, j))
    sid = j["storage_session_id"]
    return {"id": j["files"][0]["fileId"], "storage_session_id": sid, "session_id": sid,
            "name": name, "kind": "user"}


def download(a, j, name):
    """The bytes of output file NAME of exec answer J."""
    refs = [f for f in j["files"] if f["name"] == name]
    check(len(refs) == 1, "%s not in files %r" % (name, j["files"]))
    st, data, _ = a.request("GET", "/v1/download/%s/%s" % (refs[0]["storage_session_id"], refs[0]["id"]),
                            raw=True)
    check(st == 200, "download of %s answered %s" % (name, st))
    return data


def out_names(j):
    return sorted(f["name"] for f in j["files"])


def language_tests(lang):
    p = programs.PROGRAMS[lang]

    def hello():
        j = setup().exec(lang, p["hello"])
        check(j["stdout"] == programs.HELLO, "answer %r" % j)
        check(j["files"] == [], "files %r" % j["files"])

    def files():
        a = setup()
        ref = upload(a, "input.txt", programs.INPUT)
        j = a.exec(lang, p["files"], files=[ref])
        check(out_names(j) == ["output.txt"], "files %r stderr %r" % (j["files"], j["stderr"]))
        got = download(a, j, "output.txt")
        check(got == programs.OUTPUT.encode(), "output.txt holds %r" % got)

    def args():
        j = setup().exec(lang, p["args"], args=programs.ARGS)
        check(j["stdout"] == programs.ARGS_OUT, "stdout %r stderr %r" % (j["stdout"], j["stderr"]))

    def error():
        code, expect = p["error"]
        j = setup().exec(lang, code)
        check(expect in j["stderr"], "stderr %r lacks %r" % (j["stderr"], expect))
        check(j["run"]["code"] != 0, "run %r" % j.get("run"))

    for name, fn in (("hello", hello), ("files", files), ("args", args), ("error", error)):
        globals()["test_%s_%s" % (lang, name)] = fn


for _lang in programs.PROGRAMS:
    language_tests(_lang)


def test_py_plot_is_png():
    a = setup()
    j = a.exec("py", "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\n"
                     "plt.title('squares')\nplt.show()\n")
    check(out_names(j) == ["plot_1.png"], "files %r stderr %r" % (j["files"], j["stderr"]))
    check(download(a, j, "plot_1.png").startswith(PNG), "plot_1.png is not a PNG")


def test_py_pandas_reads_uploaded_csv():
    a = setup()
    ref = upload(a, "data.csv", "city,temp\nOslo,3\nRome,17\nCairo,29\n")
    j = a.exec("py", "import pandas as pd\ndf = pd.read_csv('data.csv')\n"
                     "print(int(df['temp'].sum()), len(df))\n", files=[ref])
    check(j["stdout"] == "49 3\n", "stdout %r stderr %r" % (j["stdout"], j["stderr"]))


def test_r_ggplot_is_png():
    a = setup()
    j = a.exec("r", "suppressPackageStartupMessages(library(ggplot2))\n"
                    "p <- ggplot(data.frame(x = 1:3, y = c(1, 4, 9)), aes(x, y)) + geom_line()\n"
                    "ggsave('r.png', p, width = 4, height = 3, dpi = 72)\n")
    check(out_names(j) == ["r.png"], "files %r stderr %r" % (j["files"], j["stderr"]))
    check(download(a, j, "r.png").startswith(PNG), "r.png is not a PNG")


def test_zz_stop_leaves_nothing():
    global app
    a = setup()
    app = None
    a.stop()   # raises when a container is left behind


if __name__ == "__main__":
    try:
        main(globals())
    finally:
        if app is not None:
            app.stop(check_leftovers=False)
