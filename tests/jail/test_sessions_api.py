"""Sessions keep a live interpreter under policy isolation jail (issue 15),
through POST /v1/exec of a whole appliance on the real engine: the calls of
one user with one runtime_session_hint (and the stateful profile header, as
LibreChat sends it) share a live Python: `x = 41` in one call, `print(x + 1)`
prints 42 in the next; a pandas DataFrame built in one call is used in the
next; a function and an import persist; another user's call with the same
hint sees none of them, nor the session's files.

No Docker engine: every test fails (cwtest.require_docker), none is skipped.
"""
from cwtest import Shared, check, main

STATEFUL = {"X-CodeAPI-Expected-Profile": "stateful"}
USER_A = "6650f1c2a1b2c3d4e5f6aaaa"
USER_B = "6650f1c2a1b2c3d4e5f6bbbb"


setup = Shared(isolation="jail", name="sess-api",
               overrides=[("concurrency", "sessions", "4"), ("concurrency", "session-idle", "2m"),
                          ("time", "default", "30s")])


def call(code, hint, user=USER_A, lang="py"):
    body = {"lang": lang, "code": code, "user_id": user, "runtime_session_hint": hint}
    st, j = setup().request("POST", "/v1/exec", body, headers=STATEFUL)
    check(st == 200, "exec: %s %r" % (st, j))
    return j


def test_a_variable_lives_on():
    j1 = call("x = 41", "vars")
    check(j1["stderr"] == "", "x = 41: %r" % j1)
    j2 = call("print(x + 1)", "vars")
    check(j2["stdout"] == "42\n" and j2["stderr"] == "", "print(x + 1) in the next call: %r" % j2)
    if "runtime_session_id" in j1:
        check(j2.get("runtime_session_id") == j1["runtime_session_id"], "two sessions: %r %r" % (j1, j2))


def steps(hint, *calls):
    """calls of one session: (user, code, the stdout wanted, what it shows)"""
    for user, code, want, what in calls:
        j = call(code, hint, user=user)
        check(want is None or j["stdout"] == want, "%s: %r" % (what, j))


def test_functions_and_imports_live_on():
    steps("funcs", (USER_A, "import math as m\ndef f(a):\n    return a * 2\n", "", "the definitions"),
          (USER_A, "print(f(21), m.floor(m.pi))", "42 3\n", "a function and an import of the call before"))


def test_a_dataframe_lives_on():
    steps("frames",
          (USER_A, "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3], 'b': [10, 20, 30]})", "",
           "the DataFrame built"),
          (USER_A, "df['c'] = df.a * df.b\nprint(int(df.c.sum()), list(df.columns))",
           "140 ['a', 'b', 'c']\n", "the DataFrame of the call before"),
          (USER_A, "print(len(df), int(df.c.max()))", "3 90\n", "the DataFrame changed by the call before"))


def test_another_user_with_the_same_hint_sees_nothing():
    steps("shared-hint",
          (USER_A, "y = 41\nimport pandas as pd\nsecret = pd.DataFrame({'s': [7]})\n"
           "open('/mnt/data/mine.txt', 'w').write('a')", "", "the first user's session"),
          (USER_B, "print('y' in globals(), 'secret' in globals())\nimport os\n"
           "print(sorted(os.listdir('/mnt/data')))", "False False\n[]\n",
           "another user with the same hint sees the first one's session"),
          (USER_A, "print(y + 1, int(secret.s[0]))", "42 7\n", "the first user's session after the other's call"))


def test_another_hint_is_another_session():
    call("z = 1", "hint-one")
    j = call("print('z' in globals())", "hint-two")
    check(j["stdout"] == "False\n", "a session seen under another hint: %r" % j)


def test_stateless_calls_keep_nothing():
    st, j = setup().request("POST", "/v1/exec", {"lang": "py", "code": "w = 5", "user_id": USER_A})
    check(st == 200, "%s %r" % (st, j))
    st, j = setup().request("POST", "/v1/exec", {"lang": "py", "code": "print('w' in globals())",
                                                 "user_id": USER_A})
    check(st == 200 and j["stdout"] == "False\n", "a stateless call saw the one before: %r" % j)


def test_zz_stop_leaves_nothing():
    setup()
    setup.stop()


if __name__ == "__main__":
    main(globals(), setup)
